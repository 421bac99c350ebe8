using System.Text.Json;
using PolyNet.Jobs.Runs;
using PolyNet.Jobs.Suite;
using PolyNet.Reports.Json;

namespace PolyNet.Reports.Suite;

/// <summary>
/// `polynet suite merge`: the JSON reports of a suite's shards (`suite run --shard I/N --json`) joined into one result,
/// from which every suite report format is written as for an unsharded run. Each case must come from exactly one
/// shard and every shard 1..N must be there; a case or shard missing or given twice is bad input.
/// </summary>
public static class SuiteMerge
{
    public static SuiteReportDocument Read(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file (write it with polynet suite run ... --json FILE)");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ReportJson.Default.SuiteReportDocument)
                ?? throw InvalidInputException.ForFile(path, "is empty, not a polynet suite JSON report");
        }
        catch (JsonException e)
        {
            throw InvalidInputException.ForFile(path, $"not a polynet suite JSON report ({e.Message.Split(". ")[0]})");
        }
    }

    /// <summary>Each case's run time in an earlier report, for balancing shards.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> Durations(string path)
        => Read(path).Cases.GroupBy(c => c.Name).ToDictionary(g => g.Key, g => g.First().Duration, StringComparer.Ordinal);

    public static SuiteResult Merge(SuiteFile suite, IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new InvalidInputException("suite merge: give the shards' JSON reports (polynet suite run ... --shard I/N --json FILE)");
        var docs = paths.Select(p => (Path: p, Doc: Read(p))).ToList();
        foreach (var (p, d) in docs)
            if (d.Suite != suite.Name) throw InvalidInputException.ForFile(p, $"is a report of suite '{d.Suite}', not '{suite.Name}'");
        var shards = docs.Where(d => d.Doc.Shard is not null).Select(d => (d.Path, Shard: SuiteShard.Parse(d.Doc.Shard!))).ToList();
        if (shards.Count > 0)
        {
            if (shards.Count != docs.Count) throw InvalidInputException.ForFile(docs.First(d => d.Doc.Shard is null).Path, "is not a shard's report (no --shard), but the others are");
            int n = shards[0].Shard.Count;
            if (shards.FirstOrDefault(s => s.Shard.Count != n) is { Path: not null } other) throw InvalidInputException.ForFile(other.Path, $"is shard {other.Shard} of another split than {shards[0].Path} (shard {shards[0].Shard})");
            foreach (var g in shards.GroupBy(s => s.Shard.Index).Where(g => g.Count() > 1))
                throw InvalidInputException.ForFile(g.Last().Path, $"is shard {g.Key}/{n} again (also {g.First().Path})");
            var missing = Enumerable.Range(1, n).Except(shards.Select(s => s.Shard.Index)).ToList();
            if (missing.Count > 0) throw new InvalidInputException($"suite merge: shard(s) {string.Join(", ", missing.Select(m => $"{m}/{n}"))} missing: every case must come from exactly one shard");
        }
        var byName = suite.Cases.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var cases = new List<CaseResult>();
        foreach (var (p, d) in docs)
            foreach (var c in d.Cases)
            {
                if (!byName.TryGetValue(c.Name, out var sc)) throw InvalidInputException.ForFile(p, $"has case '{c.Name}', which {suite.GivenPath} does not");
                if (!seen.TryAdd(c.Name, p)) throw InvalidInputException.ForFile(p, $"has case '{c.Name}' again (also {seen[c.Name]}): shards must not overlap");
                cases.Add(new CaseResult
                {
                    Case = sc, Status = Status(p, c.Status), Duration = c.Duration, Message = c.Message, Golden = c.GoldenUpdate, Log = c.Log ?? [], Latency = c.Latency,
                    Result = c.Comparisons is null ? null : new RunJobResult { Runners = [], Pairs = c.Comparisons, Samples = c.Samples ?? 0, ShapeSets = c.ShapeSets },
                });
            }
        var order = suite.Cases.Select((c, i) => (c.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        return new SuiteResult
        {
            Suite = suite,
            Cases = cases.OrderBy(c => order[c.Case.Name]).ToList(),
            // The shards ran side by side: the merged run took as long as the longest.
            Duration = docs.Max(d => d.Doc.Duration),
            Selected = docs.Sum(d => d.Doc.Selected ?? d.Doc.Cases.Count),
        };
    }

    private static CaseStatus Status(string path, string word)
        => Enum.GetValues<CaseStatus>().Cast<CaseStatus?>().FirstOrDefault(s => SuiteText.Word(s!.Value) == word)
            ?? throw InvalidInputException.ForFile(path, $"has a case with status '{word}' (expected {string.Join(", ", Enum.GetValues<CaseStatus>().Select(SuiteText.Word))})");
}
