using PolyNet.Onnx;
using PolyNet.Jobs.Runs;

namespace PolyNet.Reports;

/// <summary>
/// The human-readable report: one block per compared pair, each output with its verdict, where the worst error
/// sits, the error distribution and the tolerances that would have passed. Failing outputs get more: mismatch
/// counts, similarity measures, non-finite values and an error histogram. Writes only to the given writer.
/// </summary>
public sealed class TextReport(TextWriter w, bool verbose = false)
{
    public void Pair(PairResult p)
    {
        w.WriteLine($"[I] Comparing '{p.Candidate}' against reference '{p.Reference}' (sample {p.Sample})");
        foreach (var o in p.Outputs) Output(o);
        foreach (var m in p.MissingInCandidate) w.WriteLine($"[E]   {m}: FAILED  the reference has this output, '{p.Candidate}' does not");
        foreach (var m in p.MissingInReference) w.WriteLine($"[W]   {m}: only '{p.Candidate}' has this output; not compared");
    }

    public void Output(OutputComparison o)
    {
        var type = o.ReferenceType == o.CandidateType || o.CandidateType == Onnx.ElementType.Undefined
            ? o.ReferenceType.DisplayName()
            : $"{o.ReferenceType.DisplayName()}/{o.CandidateType.DisplayName()}";
        var shape = o.ReferenceShape?.ToString() ?? "";
        var tol = o.Exact ? "exact" : $"{o.Tolerance}{(o.ToleranceSource == "default" ? "" : $" [{o.ToleranceSource}]")}";
        w.WriteLine($"[{(o.Passed ? "I" : "E")}]   {o.Output} ({type} {shape}): {(o.Passed ? "PASSED" : "FAILED")}  {o.Reason}  ({tol})");
        if (o.Hint is { } hint) w.WriteLine($"        hint: {hint}");
        if (o.TopK is { } k)
            w.WriteLine($"        top-{k.K} over {k.Rows} rows: top-1 agreement {F(k.Top1Percent)}%, identical top-{k.K} sets {F(k.SetsEqualPercent)}%, mean overlap {F(100 * k.MeanOverlap)}%");
        if (o.FirstStringMismatch is { } s)
            w.WriteLine($"        first difference at {s.Index}: reference {s.Reference} vs candidate {s.Candidate}");
        var m = o.Metrics;
        if (m is null || m.Count == 0) return;
        if (m.WorstAbs is { } worst && (m.AbsError.Max > 0 || !o.Passed))
            w.WriteLine($"        largest abs error at {worst.Index}: reference {worst.Reference} vs candidate {worst.Candidate} (abs {F(worst.AbsError)}, rel {F(worst.RelError)})");
        if (!o.Passed && !o.Exact && m.WorstRel is { } wr && wr.FlatIndex != m.WorstAbs?.FlatIndex && m.RelError.Max > 0)
            w.WriteLine($"        largest rel error at {wr.Index}: reference {wr.Reference} vs candidate {wr.Candidate} (abs {F(wr.AbsError)}, rel {F(wr.RelError)})");
        if (o.Exact)
        {
            if (m.Mismatches > 0) w.WriteLine($"        {m.Mismatches} of {m.Count} elements differ; max |difference| {F(m.AbsError.Max)}");
            return;
        }
        w.WriteLine($"        abs error: {Dist(m.AbsError)}{NanPairs(m)}");
        w.WriteLine($"        rel error: {Dist(m.RelError)}{NanPairs(m)}");
        if (!o.Passed || verbose)
        {
            w.WriteLine($"        robust rel error (|ref| floored at {F(m.RobustFloor)}): max {F(m.RobustRelError.Max)}, mean {F(m.RobustRelError.Mean)}");
            w.WriteLine($"        {m.Mismatches} of {m.Count} elements ({F(m.MismatchPercent)}%) out of tolerance; cosine similarity {Cos(m.CosineSimilarity)}, relative L2 error {F(m.RelativeL2)}, SNR {F(m.SnrDb)} dB, PSNR {F(m.PsnrDb)} dB{Over(m)}");
            if (m.NanReference + m.NanCandidate + m.InfReference + m.InfCandidate > 0)
                w.WriteLine($"        non-finite values: reference {m.NanReference} NaN, {m.InfReference} inf; candidate {m.NanCandidate} NaN, {m.InfCandidate} inf");
            w.WriteLine($"        reference: {Values(m.Reference)}");
            w.WriteLine($"        candidate: {Values(m.Candidate)}");
            if (m.AbsHistogram is { } h) HistogramLines("abs error histogram", h);
            if (m.RelHistogram is { } rh) HistogramLines("rel error histogram", rh);
            if (o.Explanation is { } x) Where(x);
        }
        if (m.InfiniteAbsErrors > 0)
            w.WriteLine($"        no tolerance would pass it: {m.InfiniteAbsErrors} element(s) NaN or infinite on one side only");
        else if (!o.Passed || m.AbsError.Max > 0)
            w.WriteLine($"        would pass with atol ≥ {F(m.NeededAtol)} (at rtol {F(o.Tolerance.Rtol)}) or rtol ≥ {F(m.NeededRtol)} (at atol {F(o.Tolerance.Atol)})");
    }

    /// <summary>The layerwise table (every tensor when few or verbose, else the diverging ones) and localization.</summary>
    /// <param name="shapeSet">With a sweep: the shape set the layerwise sample belongs to.</param>
    public void Layerwise(Jobs.Layerwise.LayerwiseResult r, int limit = 40, string? shapeSet = null)
    {
        w.WriteLine($"[I] Layerwise comparison on sample {r.Sample}{(shapeSet is null ? "" : $" (shape set {shapeSet})")}: {r.Marked} tensor(s) in topological order ({r.Chunks} chunk(s), {r.Runs} model run(s))");
        foreach (var n in r.Notes) w.WriteLine($"[W] {n}");
        foreach (var c in r.Candidates)
        {
            int failed = c.Diverging.Count();
            var first = c.FirstDivergence;
            w.WriteLine(first is null
                ? $"[I] '{c.Candidate}' vs '{r.Reference}': all {c.Tensors.Count} tensor(s) within tolerance"
                : $"[E] '{c.Candidate}' vs '{r.Reference}': {failed} of {c.Tensors.Count} tensor(s) beyond tolerance; first divergence: '{first.Tensor}' from {first.NodeLabel}");
            var rows = verbose || c.Tensors.Count <= limit ? c.Tensors : c.Diverging.Take(limit).ToList();
            if (rows.Count > 0)
            {
                int tw = Math.Clamp(rows.Max(t => t.Tensor.Length), 6, 40), nw = Math.Clamp(rows.Max(t => t.NodeLabel.Length), 4, 40);
                w.WriteLine($"        {"#",5}  {"tensor".PadRight(tw)}  {"node".PadRight(nw)}  {"shape",-12} {"max abs",10} {"rel L2",10}  verdict");
                foreach (var t in rows)
                {
                    var m = t.Comparison.Metrics;
                    w.WriteLine($"        {t.Position,5}  {Cut(t.Tensor, tw).PadRight(tw)}  {Cut(t.NodeLabel, nw).PadRight(nw)}  {t.Comparison.ReferenceShape?.ToString() ?? "",-12} {(m is null ? "" : F(m.AbsError.Max)),10} {(m is null ? "" : F(m.RelativeL2)),10}  {(t.Passed ? "PASSED" : "FAILED")}{(ReferenceEquals(t, first) ? "  <- first divergence" : "")}");
                }
                if (rows.Count < c.Tensors.Count)
                    w.WriteLine($"        ({(rows.Count < failed ? $"first {rows.Count} of {failed} diverging" : $"the {failed} diverging")} tensor(s) shown; --verbose shows all {c.Tensors.Count})");
            }
            if (c.Localization is { } loc) Localization(loc, c.FirstDivergence);
        }
    }

    private void Localization(Jobs.Layerwise.LocalizationResult loc, Jobs.Layerwise.TensorResult? first)
    {
        var culprits = loc.Culprits.ToList();
        w.WriteLine($"[{(culprits.Count > 0 ? "E" : "I")}] Localization ({loc.Runs} more model run(s){(loc.AttributionRuns > 0 ? $", {loc.AttributionRuns} of them attributing the error" : "")}): {culprits.Count} of {loc.Nodes.Count} diverging node(s) introduce error when fed the reference's inputs; the rest inherit it");
        if (Cause(loc) is { } cause)
            w.WriteLine($"[E] cause: {cause}{(first is null ? "" : $" (first divergence: '{first.Tensor}' from {first.NodeLabel})")}");
        // Culprits in the order of what they explain (attribution), then the nodes that inherit.
        var rank = loc.Attribution.Select((a, i) => (a.Node, i)).ToDictionary(x => x.Node, x => x.i, StringComparer.Ordinal);
        var shares = loc.Attribution.ToDictionary(a => a.Node, a => a.Share(loc.WorstOutput), StringComparer.Ordinal);
        int nw = Math.Clamp(loc.Nodes.Max(n => n.NodeLabel.Length), 4, 48);
        var introducing = loc.Nodes.Where(n => n.Introduces != false).OrderBy(n => rank.TryGetValue(n.NodeLabel, out var r) ? r : int.MaxValue).ToList();
        foreach (var n in introducing.Concat(loc.Nodes.Where(n => n.Introduces == false).Take(verbose ? int.MaxValue : 5)))
        {
            var m = n.Isolated?.Metrics;
            var what = n.Introduces switch
            {
                true => "INTRODUCES",
                false => "inherits  ",
                null => "unknown   ",
            };
            var numbers = n.Isolated is null ? n.Note ?? "" : $"alone: {n.Isolated.Reason}{(m is null ? "" : $", max abs {F(m.AbsError.Max)}, rel L2 {F(m.RelativeL2)}")}";
            var share = shares.TryGetValue(n.NodeLabel, out var sh) && sh is { } v ? $"adds {Pct(v)} of {loc.WorstOutput}'s error; " : "";
            w.WriteLine($"        {Cut(n.NodeLabel, nw).PadRight(nw)}  {what}  {share}{numbers}");
        }
        int hidden = verbose ? 0 : Math.Max(0, loc.Nodes.Count(n => n.Introduces == false) - 5);
        if (hidden > 0) w.WriteLine($"        ({hidden} more inheriting node(s); --verbose lists them)");
        if (loc.Explained.Count > 0)
            w.WriteLine($"        fixing {(culprits.Count == 1 ? culprits[0].NodeLabel : $"the {culprits.Count} culprits")} (its output replaced by the reference's) removes "
                + string.Join(", ", loc.Explained.Select(e => $"{Pct(e.Explained)} of {e.Output}'s error (rel L2 {F(e.Before)} -> {F(e.After)})")));
        foreach (var a in loc.Attribution.Where(a => a.Shares is not null && culprits.Count > 1).Take(verbose ? int.MaxValue : 3))
            w.WriteLine($"        {a.Node} adds " + string.Join(", ", a.Shares!.Select(e => $"{Pct(e.Value)} of {e.Key}'s error")) + " (what fixing it removes once the culprits before it are fixed)");
    }

    /// <summary>The headline: the culprit adding most of the worst output's error, with its share ("bn_1 adds 99.8% of y's error").</summary>
    public static string? Cause(Jobs.Layerwise.LocalizationResult loc)
    {
        if (loc.Attribution.Count == 0 || loc.Attribution[0].Share(loc.WorstOutput) is not { } top) return null;
        var also = loc.Attribution.Skip(1).Where(a => a.Share(loc.WorstOutput) is >= 0.1).Take(2).Select(a => $"{a.Node} {Pct(a.Share(loc.WorstOutput)!.Value)}").ToList();
        var first = loc.Attribution[0];
        var cascade = first.Cascade is { Count: > 0 } c ? $", with {string.Join(", ", c)} after it overflowing again (fix them together)" : "";
        return $"{first.Node} adds {Pct(top)} of {loc.WorstOutput}'s error{cascade}{(also.Count > 0 ? $" (next: {string.Join(", ", also)})" : "")}";
    }

    private static string Pct(double f) => double.IsNaN(f) ? "n/a" : (100 * f).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "%";
    /// <summary>
    /// A name cut to n characters in its middle: exported names share long prefixes ("/model/encoder/layers.3/...") and
    /// differ at the end, so the end is kept (two thirds) with the start.
    /// </summary>
    public static string Cut(string s, int n)
    {
        if (s.Length <= n) return s;
        int head = (n - 1) / 3, tail = n - 1 - head;
        return s[..head] + "…" + s[^tail..];
    }

    public void Summary(RunJobResult r)
    {
        if (r.LayerwiseProblem is { } problem) w.WriteLine($"[W] the layerwise comparison could not run: {problem}");
        int pairs = r.Pairs.Count;
        int failedPairs = r.Pairs.Count(p => !p.Passed);
        int outputs = r.Pairs.Sum(p => p.Outputs.Count + p.MissingInCandidate.Count);
        int failedOutputs = r.Pairs.Sum(p => p.Outputs.Count(o => !o.Passed) + p.MissingInCandidate.Count);
        foreach (var run in r.Runners)
            w.WriteLine($"[I] {run.Name}: activation {Format.Duration(run.Activation)}, {Timing(run)}");
        if (r.PeakMemory > 0 && verbose) w.WriteLine($"[I] peak memory: {Format.Bytes(r.PeakMemory)} resident (the whole process)");
        foreach (var f in r.FilesWritten) w.WriteLine($"[I] wrote {f}");
        foreach (var set in r.ShapeSets ?? [])
            w.WriteLine(set.Passed
                ? $"[I] shape set {set.Index + 1} ({set.Shapes}): PASSED over {set.Samples.Count} sample(s)"
                : $"[E] shape set {set.Index + 1} ({set.Shapes}): FAILED, {set.FailedComparisons} comparison(s) out of tolerance over {set.Samples.Count} sample(s)");
        if (pairs == 0)
            w.WriteLine($"[I] RAN | {r.Runners.Count} runner configuration(s) over {r.Samples} sample(s); nothing compared");
        else if (r.Passed)
            w.WriteLine($"[I] PASSED | {pairs} comparison(s) of {r.Runners.Count} runner configuration(s) over {r.Samples} sample(s): all {outputs} output comparison(s) within tolerance");
        else
        {
            var worst = r.Pairs.SelectMany(p => p.Outputs.Where(o => !o.Passed).Select(o => (p, o))).FirstOrDefault();
            var detail = worst.o is null ? "" : $"; first: '{worst.p.Candidate}' vs '{worst.p.Reference}' on {worst.o.Output}: {worst.o.Reason}";
            var sets = r.ShapeSets is { } all ? $" at {all.Count(x => !x.Passed)} of {all.Count} shape set(s)" : "";
            w.WriteLine($"[E] FAILED | {failedOutputs} of {outputs} output comparison(s) failed in {failedPairs} of {pairs} comparison(s){sets}{detail}");
        }
    }

    /// <summary>Where the errors sit: the worst elements, the worst channels, error against |reference|.</summary>
    private void Where(Explanation x)
    {
        if (x.Worst.Count > 0)
            w.WriteLine($"        worst elements: {string.Join("; ", x.Worst.Take(5).Select(e => $"{e.Index} ref {F(e.Reference)} cand {F(e.Candidate)} abs {F(e.Abs)}"))}");
        if (x.Channels.Count > 1)
        {
            var top = x.Channels.OrderByDescending(c => c.Mismatches).ThenByDescending(c => c.MaxAbs).Take(5).ToList();
            int bad = x.Channels.Count(c => c.Mismatches > 0);
            w.WriteLine($"        by channel (axis {x.ChannelAxis}): {bad} of {x.Channels.Count} channels have elements out of tolerance; worst: {string.Join(", ", top.Select(c => $"#{c.Channel} ({c.Mismatches} out, max {F(c.MaxAbs)})"))}");
        }
        if (x.Magnitudes.Count > 1)
        {
            w.WriteLine("        error against |reference|:");
            foreach (var b in x.Magnitudes)
                w.WriteLine($"          |ref| in [{F(b.Low)}, {F(b.High)}): {b.Count,10} elements, {b.Mismatches,8} out of tolerance, mean abs {F(b.MeanAbs)}, max abs {F(b.MaxAbs)}, mean rel {F(b.MeanRel)}{(b.NonFinite > 0 ? $" (over the finite errors; {b.NonFinite} NaN or infinite)" : "")}");
        }
    }

    private void HistogramLines(string title, Histogram h)
    {
        long max = Math.Max(1, h.Bins.Max(b => b.Count));
        w.WriteLine($"        {title}:");
        foreach (var b in h.Bins)
        {
            if (b.Count == 0 && h.LogScale) continue;
            int bar = (int)Math.Round(30.0 * b.Count / max);
            w.WriteLine($"          {b.Label,-22} {b.Count,10}  {new string('#', bar)}");
        }
    }

    private static string Dist(Distribution d)
        => $"max {F(d.Max)}, mean {F(d.Mean)}, median {F(d.Median)}, p90 {F(d.P90)}, p99 {F(d.P99)}";

    /// <summary>
    /// Inference times: the first run is cold (ONNX Runtime allocates and warms up on it), so it is given apart from
    /// the mean of the others; `polynet bench` measures steady latency.
    /// </summary>
    public static string Timing(Jobs.Runs.RunnerSummary run) => run.Inferences.Count switch
    {
        0 => "no inference",
        1 => $"first inference {Format.Duration(run.Inferences[0])} (cold: includes warm-up; polynet bench measures steady latency)",
        _ => $"first inference {Format.Duration(run.Inferences[0])} (cold), then mean {Format.Duration(TimeSpan.FromTicks((long)run.Inferences.Skip(1).Average(t => t.Ticks)))} over {run.Inferences.Count - 1} run(s)",
    };

    /// <summary>What the error statistics cover, when elements NaN on one side only were left out.</summary>
    public static string NanPairs(ComparisonMetrics m) => m.NanPairs == 0 ? ""
        : m.AbsError.Count == 0 ? $" (every element is NaN on one side only: no error to measure)"
        : $" (max nan; the others over the {m.AbsError.Count} element(s) not NaN on one side only, {m.NanPairs} are)";

    private static string Values(Distribution d)
        => $"min {F(d.Min)}, max {F(d.Max)}, mean {F(d.Mean)}, std {F(d.Std)}, median {F(d.Median)}";

    /// <summary>What the similarity measures cover, when non-finite values left some elements out.</summary>
    public static string Over(ComparisonMetrics m) => m.SimilarityExcluded == 0 ? ""
        : m.SimilarityPairs == 0 ? " (no element is finite on both sides: nothing to measure)"
        : $" (over the {m.SimilarityPairs} elements finite on both sides; {m.SimilarityExcluded} left out)";

    private static string Cos(double c) => c >= 0.99 ? c.ToString("0.000000000", System.Globalization.CultureInfo.InvariantCulture) : F(c);

    private static string F(double v) => Format.Number(v);
}
