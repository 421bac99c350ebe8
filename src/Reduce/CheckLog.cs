using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PolyNet.Reduce;

/// <summary>A check as checks.jsonl records it.</summary>
public sealed record CheckRecord(int Check, string Nodes, int Count, bool Fails, string Cause, double Ms);

/// <summary>
/// checks.jsonl in the artifacts folder: a header line naming the reduction (a fingerprint of the model, the condition
/// and the options), then for each check a "start" line and, once it is decided, a "result" line with the nodes kept
/// (as ranges of node indices, e.g. "0-5,9"), the verdict, the cause and the time. Lines are flushed as written, so a
/// killed reduction leaves every finished check behind; reopening the folder with the same fingerprint resumes from
/// them, and a "start" without its "result" is the check during which the process died (a native crash, or a kill).
/// </summary>
public sealed class CheckLog : IDisposable
{
    public const string FileName = "checks.jsonl";
    private readonly StreamWriter _writer;
    private readonly Dictionary<string, CheckRecord> _results = new(StringComparer.Ordinal);

    private CheckLog(StreamWriter writer) => _writer = writer;

    /// <summary>Finished checks by node key (from earlier runs and this one).</summary>
    public IReadOnlyDictionary<string, CheckRecord> Results => _results;
    /// <summary>The node key of a check an earlier run started and never finished, if any.</summary>
    public string? Interrupted { get; private set; }
    public int Count => _results.Count;

    /// <summary>Opens (or creates) the log in <paramref name="dir"/>. A log of another reduction is an error naming it.</summary>
    public static CheckLog Open(string dir, string fingerprint, string description)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, FileName);
        var results = new Dictionary<string, CheckRecord>(StringComparer.Ordinal);
        string? started = null;
        bool exists = File.Exists(path) && new FileInfo(path).Length > 0;
        if (exists)
        {
            var lines = File.ReadAllLines(path);
            using (var header = Parse(lines[0], path))
            {
                if (header is null || !header.RootElement.TryGetProperty("fingerprint", out var f) || f.GetString() != fingerprint)
                    throw InvalidInputException.ForFile(path, $"holds the checks of another reduction ({(header?.RootElement.TryGetProperty("reduction", out var d) == true ? d.GetString() : "unknown")}); use another --artifacts folder or remove it");
            }
            foreach (var line in lines.Skip(1))
            {
                using var doc = Parse(line, path);
                if (doc is null) continue; // a line cut short by a kill
                var e = doc.RootElement;
                var nodes = e.GetProperty("nodes").GetString()!;
                if (e.GetProperty("event").GetString() == "start") started = nodes;
                else
                {
                    results[nodes] = new CheckRecord(e.GetProperty("check").GetInt32(), nodes, e.GetProperty("count").GetInt32(),
                        e.GetProperty("fails").GetBoolean(), e.GetProperty("cause").GetString() ?? "", e.GetProperty("ms").GetDouble());
                    if (started == nodes) started = null;
                }
            }
        }
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        if (!exists) writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["polynet_reduce"] = 1, ["fingerprint"] = fingerprint, ["reduction"] = description }));
        var log = new CheckLog(writer) { Interrupted = started };
        foreach (var (k, v) in results) log._results[k] = v;
        return log;
    }

    public void Started(int check, string nodes, int count)
        => _writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["event"] = "start", ["check"] = check, ["nodes"] = nodes, ["count"] = count }));

    public void Finished(CheckRecord r)
    {
        _results[r.Nodes] = r;
        _writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["event"] = "result", ["check"] = r.Check, ["nodes"] = r.Nodes, ["count"] = r.Count, ["fails"] = r.Fails, ["cause"] = r.Cause, ["ms"] = Math.Round(r.Ms, 1),
        }));
    }

    /// <summary>"0-5,9,12-13" for the sorted indices 0,1,2,3,4,5,9,12,13.</summary>
    public static string Key(IEnumerable<int> nodes)
    {
        var sorted = nodes.Order().ToList();
        var b = new StringBuilder();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (b.Length > 0) b.Append(',');
            b.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j > i) b.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }
        return b.ToString();
    }

    public static List<int> Parse(string key)
    {
        var nodes = new List<int>();
        foreach (var part in key.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            int a = int.Parse(ends[0], CultureInfo.InvariantCulture), b = ends.Length > 1 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : a;
            for (int n = a; n <= b; n++) nodes.Add(n);
        }
        return nodes;
    }

    private static JsonDocument? Parse(string line, string path)
    {
        try { return JsonDocument.Parse(line); }
        catch (JsonException) { return null; }
    }

    public void Dispose() => _writer.Dispose();
}
