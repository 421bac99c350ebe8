using PolyNet.Onnx;
using System.Globalization;
using System.Net;
using System.Text;
using PolyNet.Jobs.Runs;

namespace PolyNet.Reports;

/// <summary>
/// One section of an HTML report: a title and the comparisons under it (a suite case, or one run), or, for a suite
/// case that could not run, the one-line <paramref name="Problem"/>.
/// </summary>
public sealed record ReportSection(string Title, RunJobResult? Result, string? Problem = null, Runners.Inspect.TensorRt.TrtCapabilityResult? Capability = null, string? Note = null)
{
    public bool Passed => Problem is null && Result is { Passed: true };
}

/// <summary>
/// The self-contained HTML report (--report FILE.html): one file, no network, no scripts from anywhere. A summary
/// table of every output comparison, then per output: the numbers, histograms of absolute and relative error and of
/// both sides' values (inline SVG), a heat map of |error| over a 2-D slice (an embedded PNG), the error per channel
/// and against the reference's magnitude, and the worst elements. Every figure carries data-figure; a few lines of
/// inline script mark each one data-rendered="1" once the browser has laid it out (tests read that back).
/// Deterministic: the same results give the same bytes.
/// </summary>
public sealed class HtmlReport : ReportWriter<RunReport>
{
    public static HtmlReport Default { get; } = new();
    public override string Name => "HTML";
    public override string Option => "--report";
    public override string Extension => ".html";
    public override string Description => "Write a self-contained HTML report (summary table, error histograms, heat maps, errors per channel and by magnitude)";
    public override bool ShowsPassingOutputs => true;

    public override void Write(RunReport report, Stream stream) => Write(stream, [new ReportSection(report.Title, report.Result, Capability: report.Capability)], report.Title);

    /// <summary>Writes the report of several sections (a suite's cases) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IReadOnlyList<ReportSection> sections, string title)
    {
        using var w = Text(stream);
        w.Write(Render(sections, title));
    }

    public static string Render(IReadOnlyList<ReportSection> sections, string title)
    {
        var h = new StringBuilder();
        bool passed = sections.All(s => s.Passed);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style></head>\n<body>\n");
        h.Append($"<h1>PolyNet report: <span class=\"{(passed ? "pass" : "fail")}\">{(passed ? "PASSED" : "FAILED")}</span></h1>\n<p class=\"cmd\">{E(title)}</p>\n");
        ShapeSets(h, sections);
        foreach (var c in sections.Select(sec => sec.Capability).OfType<Runners.Inspect.TensorRt.TrtCapabilityResult>())
            CapabilityHtml.Section(h, c);
        int id = 0;
        h.Append("<table class=\"summary\"><thead><tr><th>section</th><th>sample</th><th>reference</th><th>candidate</th><th>output</th><th>shape</th><th>verdict</th><th>max abs err</th><th>max rel err</th><th>out of tolerance</th><th>tolerance</th></tr></thead><tbody>\n");
        foreach (var sec in sections)
        {
            if (sec.Problem is not null)
                h.Append($"<tr class=\"fail\"><td>{E(sec.Title)}</td><td colspan=\"10\">ERROR: {E(sec.Problem)}</td></tr>\n");
            foreach (var p in sec.Result?.Pairs ?? [])
            {
                foreach (var o in p.Outputs)
                {
                    var m = o.Metrics;
                    h.Append($"<tr class=\"{(o.Passed ? "pass" : "fail")}\"><td>{E(sec.Title)}</td><td>{p.Sample}</td><td>{E(p.Reference)}</td><td>{E(p.Candidate)}</td>")
                     .Append($"<td><a href=\"#o{id++}\">{E(o.Output)}</a></td><td>{E(o.ReferenceShape?.ToString() ?? "")}</td><td>{(o.Passed ? "PASSED" : "FAILED")}</td>")
                     .Append($"<td>{N(m?.AbsError.Max)}</td><td>{N(m?.RelError.Max)}</td><td>{(m is null ? "" : $"{m.Mismatches} ({N(m.MismatchPercent)}%)")}</td><td>{E(o.Exact ? "exact" : o.Tolerance.ToString())}</td></tr>\n");
                }
                foreach (var missing in p.MissingInCandidate)
                    h.Append($"<tr class=\"fail\"><td>{E(sec.Title)}</td><td>{p.Sample}</td><td>{E(p.Reference)}</td><td>{E(p.Candidate)}</td><td>{E(missing)}</td><td></td><td>MISSING</td><td colspan=\"4\">the candidate has no such output</td></tr>\n");
            }
        }
        h.Append("</tbody></table>\n");
        id = 0;
        foreach (var sec in sections)
        {
            if (sections.Count > 1) h.Append($"<h2 class=\"section\">{E(sec.Title)} <span class=\"{(sec.Passed ? "pass" : "fail")}\">{(sec.Passed ? "PASSED" : sec.Problem is null ? "FAILED" : "ERROR")}</span></h2>\n");
            if (sec.Problem is not null) h.Append($"<p class=\"problem\">{E(sec.Problem)}</p>\n");
            if (sec.Note is not null) h.Append($"<p class=\"hint\">{E(sec.Note)}</p>\n");
            foreach (var p in sec.Result?.Pairs ?? [])
                foreach (var o in p.Outputs)
                    Output(h, o, p, id++);
            if (sec.Result?.Layerwise is { } layers) Layerwise(h, layers);
        }
        h.Append("<script>\n").Append(Script).Append("</script>\n</body></html>\n");
        return h.ToString();
    }

    /// <summary>A sweep's shape sets: a table, and bars of each set's worst relative L2 error (red where a set fails).</summary>
    private static void ShapeSets(StringBuilder h, IReadOnlyList<ReportSection> sections)
    {
        var swept = sections.Where(sec => sec.Result?.ShapeSets is not null).ToList();
        if (swept.Count == 0) return;
        h.Append("<h2>Shape sweep</h2>\n<table class=\"sweep\"><thead><tr><th>section</th><th>set</th><th>shapes</th><th>samples</th><th>verdict</th><th>failed comparisons</th><th>worst relative L2 error</th></tr></thead><tbody>\n");
        var bars = new List<(string Label, double Value, bool Passed)>();
        foreach (var sec in swept)
            foreach (var set in sec.Result!.ShapeSets!)
            {
                var worst = sec.Result.Pairs.Where(p => set.Samples.Contains(p.Sample)).SelectMany(p => p.Outputs).Select(o => o.Metrics?.RelativeL2 ?? 0).Where(double.IsFinite).DefaultIfEmpty(0).Max();
                h.Append($"<tr class=\"{(set.Passed ? "pass" : "fail")}\"><td>{E(sec.Title)}</td><td>{set.Index + 1}</td><td>{E(set.Shapes)}</td><td>{set.Samples.Count}</td><td>{(set.Passed ? "PASSED" : "FAILED")}</td><td>{set.FailedComparisons}</td><td>{N(worst)}</td></tr>\n");
                bars.Add(($"{(swept.Count > 1 ? sec.Title + ": " : "")}{set.Shapes}", worst, set.Passed));
            }
        h.Append("</tbody></table>\n");
        const int rowHeight = 18, labelWidth = 300, barWidth = 360;
        double max = Math.Max(bars.Max(b => b.Value), 1e-30);
        int height = bars.Count * rowHeight + 4;
        h.Append(CultureInfo.InvariantCulture, $"<figure data-figure=\"sweep\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelWidth + barWidth + 90}\" height=\"{height}\" viewBox=\"0 0 {labelWidth + barWidth + 90} {height}\" role=\"img\" font-size=\"11\">");
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, value, ok) = bars[i];
            double w = Math.Max(1, barWidth * value / max);
            int y = i * rowHeight + 2;
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 4}\" y=\"{y + 12}\" text-anchor=\"end\">{E(TextReport.Cut(label, 48))}</text><rect x=\"{labelWidth}\" y=\"{y}\" width=\"{w:0.#}\" height=\"{rowHeight - 4}\" fill=\"{(ok ? "#1a7f37" : "#cf222e")}\"/><text x=\"{labelWidth + w + 4:0.#}\" y=\"{y + 12}\">{E(Format.Number(value))}</text>");
        }
        h.Append("</svg><figcaption>worst relative L2 error of any output at each shape set (green: every comparison within tolerance; red: a set that fails)</figcaption></figure>\n");
    }

    private static void Output(StringBuilder h, OutputComparison o, PairResult p, int id)
    {
        h.Append($"<section class=\"output\" id=\"o{id}\"><h3>{E(o.Output)} <small>{E(p.Candidate)} vs {E(p.Reference)}, sample {p.Sample}</small> <span class=\"{(o.Passed ? "pass" : "fail")}\">{(o.Passed ? "PASSED" : "FAILED")}</span></h3>\n");
        h.Append($"<p>{E(o.Reason)}. Tolerance: {E(o.Exact ? "exact" : o.Tolerance.ToString())}{(o.ToleranceSource == "default" ? "" : $" ({E(o.ToleranceSource)})")}.</p>\n");
        if (o.Hint is { } hint) h.Append($"<p class=\"hint\">{E(hint)}</p>\n");
        var m = o.Metrics;
        if (m is not null && m.Count > 0)
        {
            h.Append("<table class=\"metrics\"><tr><th></th><th>min</th><th>max</th><th>mean</th><th>std</th><th>median</th><th>p90</th><th>p95</th><th>p99</th></tr>\n");
            foreach (var (name, d) in new[] { ("abs error", m.AbsError), ("rel error", m.RelError), ("reference", m.Reference), ("candidate", m.Candidate) })
                h.Append($"<tr><th>{name}</th><td>{N(d.Min)}</td><td>{N(d.Max)}</td><td>{N(d.Mean)}</td><td>{N(d.Std)}</td><td>{N(d.Median)}</td><td>{N(d.P90)}</td><td>{N(d.P95)}</td><td>{N(d.P99)}</td></tr>\n");
            h.Append("</table>\n");
            if (m.NanPairs > 0) h.Append($"<p class=\"hint\">Error statistics{E(TextReport.NanPairs(m))}.</p>\n");
            h.Append($"<p>{m.Mismatches} of {m.Count} elements out of tolerance; cosine similarity {N(m.CosineSimilarity)}, relative L2 error {N(m.RelativeL2)}, SNR {N(m.SnrDb)} dB, PSNR {N(m.PsnrDb)} dB{E(TextReport.Over(m))}; robust relative error (|ref| floored at {N(m.RobustFloor)}) max {N(m.RobustRelError.Max)}, mean {N(m.RobustRelError.Mean)}. ")
             .Append(m.InfiniteAbsErrors > 0 ? $"No tolerance passes it: {m.InfiniteAbsErrors} element(s) NaN or infinite on one side only.</p>\n"
                : $"Passes with atol ≥ {N(m.NeededAtol)} (at rtol {N(o.Tolerance.Rtol)}) or rtol ≥ {N(m.NeededRtol)} (at atol {N(o.Tolerance.Atol)}).</p>\n");
            if (o.TopK is { } k) h.Append($"<p>Top-{k.K} agreement over {k.Rows} rows: top-1 {N(k.Top1Percent)}%, identical top-{k.K} sets {N(k.SetsEqualPercent)}%, mean overlap {N(100 * k.MeanOverlap)}%.</p>\n");
            h.Append("<div class=\"figures\">\n");
            if (m.AbsHistogram is { } ah) Bars(h, "absolute error (log scale)", ah.Bins.Select(b => (b.Label, (double)b.Count)).ToList());
            if (m.RelHistogram is { } rh) Bars(h, "relative error (log scale)", rh.Bins.Select(b => (b.Label, (double)b.Count)).ToList());
            if (m.ReferenceHistogram is { } fh) Bars(h, "reference values (octaves)", fh.Bins.Select(b => (b.Label, (double)b.Count)).ToList());
            if (m.CandidateHistogram is { } ch) Bars(h, "candidate values (octaves)", ch.Bins.Select(b => (b.Label, (double)b.Count)).ToList());
            if (o.Explanation is { } x)
            {
                if (x.Heatmap is { } map) HeatmapFigure(h, map);
                if (x.Channels.Count > 1)
                    Bars(h, $"max |error| per channel (axis {x.ChannelAxis})", x.Channels.Select(c => (c.Channel.ToString(CultureInfo.InvariantCulture), c.MaxAbs)).ToList(), logY: true);
                if (x.Magnitudes.Count > 0)
                    Bars(h, "mean |error| against |reference|", x.Magnitudes.Select(b => ($"[{Format.Number(b.Low)}, {Format.Number(b.High)})", b.MeanAbs)).ToList(), logY: true);
            }
            h.Append("</div>\n");
            if (o.Explanation is { } ex && ex.Worst.Count > 0)
            {
                h.Append("<table class=\"worst\"><tr><th>index</th><th>reference</th><th>candidate</th><th>abs error</th><th>rel error</th></tr>\n");
                foreach (var e in ex.Worst)
                    h.Append($"<tr><td>{E(e.Index)}</td><td>{N(e.Reference)}</td><td>{N(e.Candidate)}</td><td>{N(e.Abs)}</td><td>{N(e.Rel)}</td></tr>\n");
                h.Append("</table>\n");
            }
        }
        h.Append("</section>\n");
    }

    /// <summary>The per-layer error curve of each candidate, the diverging tensors and what localization found.</summary>
    private static void Layerwise(StringBuilder h, Jobs.Layerwise.LayerwiseResult r)
    {
        h.Append($"<section class=\"layerwise\" id=\"layerwise\"><h2>Layerwise comparison <small>sample {r.Sample}, {r.Marked} tensors, {r.Chunks} chunk(s), {r.Runs} model runs</small></h2>\n");
        foreach (var n in r.Notes) h.Append($"<p class=\"hint\">{E(n)}</p>\n");
        foreach (var c in r.Candidates)
        {
            var first = c.FirstDivergence;
            h.Append($"<h3>{E(c.Candidate)} vs {E(r.Reference)} <span class=\"{(first is null ? "pass" : "fail")}\">{(first is null ? "all within tolerance" : $"first divergence: {E(first.Tensor)} from {E(first.NodeLabel)}")}</span></h3>\n");
            Curve(h, c);
            var rows = c.Tensors.Count <= 200 ? c.Tensors : c.Diverging.Take(200).ToList();
            h.Append("<table class=\"layers\"><tr><th>#</th><th>tensor</th><th>node</th><th>shape</th><th>verdict</th><th>max abs err</th><th>rel L2</th><th>out of tolerance</th></tr>\n");
            foreach (var t in rows)
            {
                var m = t.Comparison.Metrics;
                h.Append($"<tr class=\"{(t.Passed ? "pass" : "fail")}\"><td>{t.Position}</td><td>{E(t.Tensor)}</td><td>{E(t.NodeLabel)}</td><td>{E(t.Comparison.ReferenceShape?.ToString() ?? "")}</td><td>{(t.Passed ? "PASSED" : "FAILED")}</td><td>{N(m?.AbsError.Max)}</td><td>{N(m?.RelativeL2)}</td><td>{(m is null ? E(t.Comparison.Reason) : $"{m.Mismatches} ({N(m.MismatchPercent)}%)")}</td></tr>\n");
            }
            h.Append("</table>\n");
            if (c.Localization is { } loc)
            {
                h.Append($"<h3>Localization <small>{loc.Runs} more model runs{(loc.AttributionRuns > 0 ? $", {loc.AttributionRuns} of them attributing the error" : "")}</small></h3>\n");
                if (TextReport.Cause(loc) is { } cause) h.Append($"<p class=\"problem\">Cause: {E(cause)}.</p>\n");
                // Culprits by the share of the worst output's error they add (a bar each), then the nodes that inherit.
                var rank = loc.Attribution.Select((a, i) => (a.Node, i)).ToDictionary(x => x.Node, x => x.i, StringComparer.Ordinal);
                var share = loc.Attribution.ToDictionary(a => a.Node, a => a.Share(loc.WorstOutput), StringComparer.Ordinal);
                h.Append($"<table class=\"localization\"><tr><th>node</th><th>tensor</th><th>verdict</th><th>adds of {E(loc.WorstOutput ?? "the worst output")}'s error</th><th>alone: max abs err</th><th>alone: rel L2</th><th>note</th></tr>\n");
                foreach (var n in loc.Nodes.OrderBy(n => rank.TryGetValue(n.NodeLabel, out var r) ? r : int.MaxValue))
                {
                    var m = n.Isolated?.Metrics;
                    var bar = share.TryGetValue(n.NodeLabel, out var sh) && sh is { } v
                        ? string.Create(CultureInfo.InvariantCulture, $"<svg width=\"104\" height=\"10\"><rect width=\"{Math.Clamp(v, 0, 1) * 100:0.#}\" height=\"10\" fill=\"#cf222e\"/></svg> {100 * v:0.#}%") : "";
                    h.Append($"<tr class=\"{(n.Introduces == true ? "fail" : "pass")}\"><td>{E(n.NodeLabel)}</td><td>{E(n.Tensor)}</td><td>{(n.Introduces switch { true => "introduces", false => "inherits", null => "unknown" })}</td><td>{bar}</td><td>{N(m?.AbsError.Max)}</td><td>{N(m?.RelativeL2)}</td><td>{E(n.Note ?? n.Isolated?.Reason ?? "")}</td></tr>\n");
                }
                h.Append("</table>\n");
                if (loc.Explained.Count > 0)
                    h.Append("<p>With the culprits' outputs replaced by the reference's: ")
                     .Append(string.Join("; ", loc.Explained.Select(e => $"{E(e.Output)}: rel L2 {N(e.Before)} → {N(e.After)} ({(double.IsNaN(e.Explained) ? "n/a" : (100 * e.Explained).ToString("0.#", CultureInfo.InvariantCulture) + "%")} explained)")))
                     .Append(".</p>\n");
            }
        }
        h.Append("</section>\n");
    }

    /// <summary>log10 of each tensor's relative L2 error against its topological position; failing tensors red.</summary>
    private static void Curve(StringBuilder h, Jobs.Layerwise.CandidateLayers c)
    {
        var points = c.Tensors.Where(t => t.Comparison.Metrics is { Count: > 0 }).Select(t => (t, v: t.Comparison.Metrics!.RelativeL2)).ToList();
        if (points.Count == 0) return;
        const int width = 640, height = 220, left = 40, bottom = 24, top = 10, right = 10;
        double Y(double v) => Math.Log10(Math.Max(v, 1e-12));
        var ys = points.Select(p => double.IsFinite(p.v) ? Y(p.v) : 3).ToList();
        double lo = Math.Floor(ys.Min()), hi = Math.Max(Math.Ceiling(ys.Max()), lo + 1);
        int maxPos = Math.Max(1, points.Max(p => p.t.Position));
        double X(int pos) => left + (double)pos / maxPos * (width - left - right);
        double Py(double y) => top + (hi - y) / (hi - lo) * (height - top - bottom);
        h.Append($"<figure data-figure=\"curve\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
        for (double d = lo; d <= hi; d++)
            h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{Py(d):0.##}\" x2=\"{width - right}\" y2=\"{Py(d):0.##}\" stroke=\"#eee\"/><text x=\"2\" y=\"{Py(d) + 3:0.##}\" font-size=\"9\">1e{d:0}</text>");
        if (c.FirstDivergence is { } f)
            h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(f.Position):0.##}\" y1=\"{top}\" x2=\"{X(f.Position):0.##}\" y2=\"{height - bottom}\" stroke=\"#cf222e\" stroke-dasharray=\"3 3\"/>");
        h.Append("<polyline fill=\"none\" stroke=\"#3b528b\" stroke-width=\"1\" points=\"")
         .AppendJoin(' ', points.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"{X(p.t.Position):0.##},{Py(ys[i]):0.##}")))
         .Append("\"/>");
        for (int i = 0; i < points.Count; i++)
            h.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(points[i].t.Position):0.##}\" cy=\"{Py(ys[i]):0.##}\" r=\"{(points.Count > 300 ? 1 : 2.5)}\" fill=\"{(points[i].t.Passed ? "#3b528b" : "#cf222e")}\"><title>{E(points[i].t.Tensor)} ({E(points[i].t.NodeLabel)}): rel L2 {E(Format.Number(points[i].v))}</title></circle>");
        // The top culprits (by the share of the worst output's error they add), marked and named on the curve.
        var culprits = c.Localization?.Attribution.Where(a => a.Share(c.Localization.WorstOutput) is > 0.1).Take(3).ToList() ?? [];
        foreach (var a in culprits)
            if (points.FindIndex(p => p.t.Tensor == a.Tensor) is int i and >= 0)
                h.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(points[i].t.Position):0.##}\" cy=\"{Py(ys[i]):0.##}\" r=\"6\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/><text x=\"{X(points[i].t.Position) + 8:0.##}\" y=\"{Py(ys[i]) + 4:0.##}\" font-size=\"10\">{E(a.Node)} {100 * a.Share(c.Localization!.WorstOutput)!.Value:0.#}%</text>");
        h.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - 6}\" font-size=\"9\">topological position 0 … {maxPos}</text>");
        h.Append($"</svg><figcaption>relative L2 error of each intermediate tensor (log scale) in topological order; red: beyond tolerance; dashed: first divergence{(culprits.Count > 0 ? "; ringed: the culprits adding most of the worst output's error" : "")}</figcaption></figure>\n");
    }

    /// <summary>An SVG bar chart; with <paramref name="logY"/> bar heights follow log10 of the value.</summary>
    /// <summary>
    /// A bar chart: up to 32 bars as horizontal rows, each labelled in a readable size with its value at the bar's
    /// end (histograms read like the terminal's); more bars as narrow columns, labelled on hover.
    /// </summary>
    private static void Bars(StringBuilder h, string caption, IReadOnlyList<(string Label, double Value)> bars, bool logY = false)
    {
        if (bars.Count == 0) return;
        double Transform(double v) => logY ? (v > 0 ? Math.Log10(v) : double.NaN) : v;
        var tv = bars.Select(b => Transform(b.Value)).ToArray();
        var finite = tv.Where(double.IsFinite).ToArray();
        double hi = finite.Length > 0 ? finite.Max() : 1, lo = logY ? (finite.Length > 0 ? Math.Min(finite.Min(), hi - 1) - 0.5 : 0) : 0;
        if (hi <= lo) hi = lo + 1;
        double Fraction(int i) => Math.Clamp(((double.IsFinite(tv[i]) ? tv[i] : lo) - lo) / (hi - lo), 0, 1);
        if (bars.Count <= 32)
        {
            const int width = 460, row = 17, labelWidth = 150, valueWidth = 64;
            int height = bars.Count * row + 4;
            double span = width - labelWidth - valueWidth;
            h.Append($"<figure data-figure=\"bars\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" font-size=\"11\">");
            for (int i = 0; i < bars.Count; i++)
            {
                double y = 2 + i * row, bw = Math.Max(bars[i].Value > 0 ? 1 : 0, Fraction(i) * span);
                h.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 12:0.##}\" text-anchor=\"end\">{E(bars[i].Label)}</text>");
                h.Append(CultureInfo.InvariantCulture, $"<rect x=\"{labelWidth}\" y=\"{y + 2:0.##}\" width=\"{bw:0.##}\" height=\"{row - 4}\" fill=\"#3b528b\"><title>{E(bars[i].Label)}: {E(Format.Number(bars[i].Value))}</title></rect>");
                h.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + bw + 4:0.##}\" y=\"{y + 12:0.##}\" fill=\"#444\">{E(Format.Number(bars[i].Value))}</text>");
            }
        }
        else
        {
            const int width = 460, height = 160, left = 8, bottom = 8, top = 10;
            double bw = (double)(width - 2 * left) / bars.Count;
            h.Append($"<figure data-figure=\"bars\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
            h.Append($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - left}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
            for (int i = 0; i < bars.Count; i++)
            {
                double bh = Math.Max(bars[i].Value > 0 ? 1 : 0, Fraction(i) * (height - bottom - top));
                double x = left + i * bw;
                h.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x + 1:0.##}\" y=\"{height - bottom - bh:0.##}\" width=\"{Math.Max(1, bw - 2):0.##}\" height=\"{bh:0.##}\" fill=\"#3b528b\"><title>{E(bars[i].Label)}: {E(Format.Number(bars[i].Value))}</title></rect>");
            }
        }
        h.Append("</svg><figcaption>").Append(E(caption)).Append("</figcaption></figure>\n");
    }

    private static void HeatmapFigure(StringBuilder h, Heatmap map)
    {
        // Log color scale over six decades below the slice's maximum; exact zeros are the darkest color.
        double top = Math.Log10(Math.Max(map.Max, double.Epsilon)), bottom = top - 6;
        var rgb = new byte[map.Rows * map.Cols * 3];
        for (int i = 0; i < map.Values.Length; i++)
        {
            double v = map.Values[i];
            double t = v > 0 ? (Math.Log10(v) - bottom) / (top - bottom) : 0;
            var (r, g, b) = Png.Ramp(t);
            rgb[3 * i] = r;
            rgb[3 * i + 1] = g;
            rgb[3 * i + 2] = b;
        }
        var data = Convert.ToBase64String(Png.Encode(map.Cols, map.Rows, rgb));
        int scale = Math.Max(1, 256 / Math.Max(map.Rows, map.Cols));
        h.Append($"<figure data-figure=\"heatmap\"><img alt=\"|error| heat map\" width=\"{map.Cols * scale}\" height=\"{map.Rows * scale}\" src=\"data:image/png;base64,{data}\">")
         .Append($"<figcaption>|error| over {E(map.Slice)} ({map.SourceRows}×{map.SourceCols}{(map.SourceRows != map.Rows || map.SourceCols != map.Cols ? $", max-pooled to {map.Rows}×{map.Cols}" : "")}); log color scale, brightest = {N(map.Max)}</figcaption></figure>\n");
    }

    internal static string E(string s) => WebUtility.HtmlEncode(s);

    private static string N(double? v) => v is { } d ? E(Format.Number(d)) : "";

    internal const string Css = """
        body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 .pass, h2 .pass, h3 .pass, td .pass { color: #1a7f37; } h1 .fail, h2 .fail, h3 .fail, .problem { color: #cf222e; }
        table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; display: block; max-width: 100%; overflow-x: auto; }
        td { overflow-wrap: anywhere; max-width: 40em; }
        th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
        th { background: #f3f3f3; } td:nth-child(-n+5) { text-align: left; }
        tr.fail td { background: #fff0f0; } tr.pass td { background: #f4fff4; }
        section.output { border-top: 2px solid #ddd; margin-top: 1.2em; }
        .figures { display: flex; flex-wrap: wrap; gap: 12px; }
        figure { margin: 0; } figcaption { font-size: 0.8em; color: #555; max-width: 460px; }
        img { image-rendering: pixelated; border: 1px solid #ccc; }
        .cmd { font-family: monospace; } .hint { background: #fff8c5; padding: 4px; }
        """;

    internal const string Script = """
        // Marks each figure once laid out with a non-empty size (and, for images, decoded).
        function polynetCheck() {
          let done = 0;
          const figs = document.querySelectorAll('figure[data-figure]');
          figs.forEach(f => {
            const el = f.querySelector('svg, img');
            const r = el ? el.getBoundingClientRect() : null;
            const ok = el && r.width > 0 && r.height > 0 && (el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0));
            if (ok) { f.dataset.rendered = '1'; done++; }
          });
          document.body.dataset.figures = figs.length;
          document.body.dataset.rendered = done;
        }
        window.addEventListener('load', polynetCheck);
        """;
}
