using System.Diagnostics;
using System.Text;

namespace PolyNet.Reduce.Steps;

/// <summary>How a child process ended: its exit code (negative or ≥ 128 when a signal ended it), what it wrote, and whether it ran out of time.</summary>
public sealed record ChildResult(int Code, string Output, string Error, bool TimedOut)
{
    /// <summary>The signal that ended the process, when one did.</summary>
    public int? Signal => TimedOut ? null : Code >= 128 ? Code - 128 : Code < 0 ? -Code : null;
}

/// <summary>Runs a process with its standard input given, capturing standard output and error; kills it (and its children) after a timeout.</summary>
public static class ChildProcess
{
    public static ChildResult Run(IReadOnlyList<string> argv, string? input, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = input is null ? null : new UTF8Encoding(false),
        };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {argv[0]}");
        var output = new StringBuilder();
        var error = new StringBuilder();
        var gate = new Lock();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) error.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (input is not null)
        {
            try
            {
                p.StandardInput.Write(input);
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // The child ended before reading everything; its exit code says why.
            }
        }
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            lock (gate) return new ChildResult(-1, output.ToString(), error.ToString(), true);
        }
        p.WaitForExit();
        lock (gate) return new ChildResult(p.ExitCode, output.ToString(), error.ToString(), false);
    }
}
