using System.Text;

namespace PolyNet.Reports;

/// <summary>
/// A report format: its name, the command-line option that asks for it, the file extension, and one method that
/// writes a result to a stream. A new format is one class deriving from <see cref="ReportWriter{TResult}"/> and one
/// line in <see cref="ReportFormats"/>: the commands add its option and write it from there.
/// </summary>
public interface IReportWriter<in TResult>
{
    /// <summary>What it is, for help texts: "JSON", "HTML", "JUnit XML".</summary>
    string Name { get; }
    /// <summary>The option that asks for it: "--json".</summary>
    string Option { get; }
    /// <summary>The usual file extension, with its dot: ".json".</summary>
    string Extension { get; }
    /// <summary>One line for --help.</summary>
    string Description { get; }
    /// <summary>The report details passing outputs too (so the comparator explains every output, not only failing ones).</summary>
    bool ShowsPassingOutputs { get; }
    void Write(TResult result, Stream stream);
}

/// <summary>
/// Base of every report writer: it owns where the bytes go (a file written to a temporary name and renamed into
/// place, so an interruption never leaves half a report) and the text encoding (UTF-8 without a byte order mark,
/// "\n" line ends), so a format only says what it writes.
/// </summary>
public abstract class ReportWriter<TResult> : IReportWriter<TResult>
{
    public abstract string Name { get; }
    public abstract string Option { get; }
    public abstract string Extension { get; }
    public abstract string Description { get; }
    public virtual bool ShowsPassingOutputs => false;
    public abstract void Write(TResult result, Stream stream);

    /// <summary>Writes the report to <paramref name="path"/> (atomically).</summary>
    public void WriteFile(string path, TResult result) => AtomicFile.Write(path, s => Write(result, s));

    /// <summary>A text writer over <paramref name="stream"/> that leaves it open (dispose it to flush).</summary>
    protected static StreamWriter Text(Stream stream) => new(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
}

/// <summary>A report the user asked for: which format, and where.</summary>
public sealed record ReportRequest<TResult>(ReportWriter<TResult> Writer, string Path)
{
    /// <summary>Writes every requested report of <paramref name="result"/>; returns the paths written, in order.</summary>
    public static IReadOnlyList<string> WriteAll(IReadOnlyList<ReportRequest<TResult>> requests, TResult result)
    {
        foreach (var r in requests) r.Writer.WriteFile(r.Path, result);
        return requests.Select(r => r.Path).ToList();
    }
}
