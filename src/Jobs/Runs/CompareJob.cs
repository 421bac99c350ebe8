using PolyNet.Onnx;
using PolyNet.Onnx.Data;


namespace PolyNet.Jobs.Runs;

/// <summary>The result of an offline comparison; <see cref="InputProblems"/> are mismatched names and shapes (exit 2).</summary>
public sealed class CompareJobResult
{
    public required RunJobResult Result { get; init; }
    public required IReadOnlyList<string> InputProblems { get; init; }
}

/// <summary>
/// `polynet compare A B [...]`: compares saved results without a model. Every file gives one or more runs
/// (a Polygraphy RunResults file one per runner, any other format one); the first run is the reference, every other
/// run a candidate. Outputs present on one side only are reported by name and the rest compared; differing shapes are
/// reported too. Both count as bad input (exit 2) after everything that matches has been compared.
/// </summary>
public static class CompareJob
{
    private static readonly Lazy<Task> WarmUp = new(() => Task.Run(TensorComparer.WarmUp));

    public static CompareJobResult Execute(IReadOnlyList<string> files, ToleranceSet tolerances, CompareOptions options, IJobLog log, Action<PairResult>? onPair = null)
    {
        // The comparator's kernels compile while the files load (they would otherwise add their compile time after);
        // once per process.
        _ = WarmUp.Value;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var runs = DataFiles.LoadRuns(files);
        log.Verbose($"loaded {files.Count} file(s) in {clock.Elapsed.TotalMilliseconds:F0} ms");
        clock.Restart();
        if (runs.Count < 2)
            throw new InvalidInputException($"nothing to compare: {string.Join(", ", files)} hold{(files.Count == 1 ? "s" : "")} only one set of results");
        var reference = runs[0];
        var problems = new List<string>();
        var pairs = new List<PairResult>();
        foreach (var cand in runs.Skip(1))
        {
            if (cand.Samples.Count != reference.Samples.Count)
                throw new InvalidInputException($"{cand.Label} holds {cand.Samples.Count} samples but {reference.Label} holds {reference.Samples.Count}");
            for (int s = 0; s < reference.Samples.Count; s++)
            {
                var p = PairComparer.Compare(s, reference.Label, reference.Samples[s], cand.Label, cand.Samples[s], tolerances, options, onlyShared: false);
                foreach (var m in p.MissingInCandidate) problems.Add($"{reference.Label} has output '{m}' but {cand.Label} does not");
                foreach (var m in p.MissingInReference) problems.Add($"{cand.Label} has output '{m}' but {reference.Label} does not");
                foreach (var o in p.Outputs.Where(o => o.Structural && o.ReferenceShape is { } rs && o.CandidateShape is { } cs && !rs.Equals(cs)))
                    problems.Add($"{o.Output}: {o.Reason} ({reference.Label} vs {cand.Label})");
                pairs.Add(p);
                onPair?.Invoke(p);
            }
        }
        log.Verbose($"compared {runs.Count - 1} candidate run(s) with {reference.Label} over {reference.Samples.Count} sample(s) in {clock.Elapsed.TotalMilliseconds:F0} ms");
        var unknown = tolerances.UnknownNames(reference.Samples.SelectMany(m => m.Keys).Distinct());
        if (unknown.Count > 0)
            throw new InvalidInputException($"tolerance given for '{unknown[0]}', which {reference.Label} does not hold");
        return new CompareJobResult
        {
            Result = new RunJobResult
            {
                Runners = runs.Select(r => new RunnerSummary(r.Label, [], TimeSpan.Zero, [])).ToList(),
                Pairs = pairs,
                Samples = reference.Samples.Count,
            },
            InputProblems = problems.Distinct().ToList(),
        };
    }
}
