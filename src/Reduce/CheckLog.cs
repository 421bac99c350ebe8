using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PolyNet.Reduce;

/// <summary>A check as checks.jsonl records it.</summary>
public sealed record CheckRecord(int Check, string Nodes, int Count, bool Fails, string Cause, double Ms);

/// <summary>One line of checks.jsonl: the header (<see cref="Fingerprint"/>, <see cref="Reduction"/>), a check's start, or its result.</summary>
public sealed record CheckLogLine(
    [property: JsonPropertyName("polynet_reduce")] int? Version = null, string? Fingerprint = null, string? Reduction = null,
    string? Event = null, int? Check = null, string? Nodes = null, int? Count = null, bool? Fails = null, string? Cause = null, double? Ms = null);

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
            var header = ParseLine(lines[0]);
            if (header?.Fingerprint != fingerprint)
                throw InvalidInputException.ForFile(path, $"holds the checks of another reduction ({header?.Reduction ?? "unknown"}); use another --artifacts folder or remove it");
            foreach (var line in lines.Skip(1))
            {
                if (ParseLine(line) is not { Nodes: { } nodes } e) continue; // a line cut short by a kill
                if (e.Event == "start") started = nodes;
                else if (e is { Event: "result", Check: { } check, Count: { } count, Fails: { } fails })
                {
                    results[nodes] = new CheckRecord(check, nodes, count, fails, e.Cause ?? "", e.Ms ?? 0);
                    if (started == nodes) started = null;
                }
            }
        }
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        if (!exists) writer.WriteLine(Line(new CheckLogLine(Version: 1, Fingerprint: fingerprint, Reduction: description)));
        var log = new CheckLog(writer) { Interrupted = started };
        foreach (var (k, v) in results) log._results[k] = v;
        return log;
    }

    public void Started(int check, string nodes, int count) => _writer.WriteLine(Line(new CheckLogLine(Event: "start", Check: check, Nodes: nodes, Count: count)));

    public void Finished(CheckRecord r)
    {
        _results[r.Nodes] = r;
        _writer.WriteLine(Line(new CheckLogLine(Event: "result", Check: r.Check, Nodes: r.Nodes, Count: r.Count, Fails: r.Fails, Cause: r.Cause, Ms: Math.Round(r.Ms, 1))));
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

    private static string Line(CheckLogLine line) => JsonSerializer.Serialize(line, CheckLogJson.Default.CheckLogLine);

    private static CheckLogLine? ParseLine(string line)
    {
        try { return JsonSerializer.Deserialize(line, CheckLogJson.Default.CheckLogLine); }
        catch (JsonException) { return null; }
    }

    public void Dispose() => _writer.Dispose();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CheckLogLine))]
internal sealed partial class CheckLogJson : JsonSerializerContext;
