using System.Text;
using PolyNet.Jobs.Suite;
using static PolyNet.Reports.Suite.SuiteText;

namespace PolyNet.Reports.Suite;

/// <summary>A summary fit for a CI step summary ($GITHUB_STEP_SUMMARY): a verdict line, a table, then the failures.</summary>
public sealed class MarkdownReport : ReportWriter<SuiteResult>
{
    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;
    public static MarkdownReport Default { get; } = new();
    public override string Name => "Markdown";
    public override string Option => "--markdown";
    public override string Extension => ".md";
    public override string Description => "Write a Markdown summary (for $GITHUB_STEP_SUMMARY and the like)";

    public override void Write(SuiteResult r, Stream stream)
    {
        using var w = Text(stream);
        w.Write(Render(r));
    }

    public static string Render(SuiteResult r)
    {
        var b = new StringBuilder();
        int passed = r.Cases.Count(c => c.Status == CaseStatus.Passed);
        string verdict = r.ExitCode == ExitCodes.Success && !r.Interrupted ? "✅ PASSED" : "❌ FAILED";
        b.Append(Inv, $"## PolyNet suite `{r.Suite.Name}`: {verdict}\n\n");
        b.Append(Inv, $"{passed} of {r.Cases.Count} cases passed");
        foreach (var (status, word) in new[] { (CaseStatus.Failed, "failed"), (CaseStatus.TooSlow, "were too slow"), (CaseStatus.BadInput, "had bad input"), (CaseStatus.RunnerFailed, "had a runner fail") })
            if (r.Cases.Count(c => c.Status == status) is > 0 and var n) b.Append(Inv, $", {n} {word}");
        b.Append(Inv, $" in {Seconds(r.Duration)} s.");
        if (r.Interrupted) b.Append(Inv, $" **Interrupted**: {r.Selected - r.Cases.Count} selected case(s) did not run.");
        b.Append("\n\n");
        b.Append("| case | result | runners | outputs compared | worst max abs error | latency (median) | time |\n|---|---|---|---:|---|---:|---:|\n");
        foreach (var c in r.Cases)
        {
            var outputs = c.Result?.Pairs.SelectMany(p => p.Outputs.Select(o => (p, o))).ToList() ?? [];
            var worst = outputs.Where(x => x.o.Metrics is { Count: > 0 }).OrderByDescending(x => x.o.Passed ? 0 : 1).ThenByDescending(x => x.o.Metrics!.AbsError.Max).FirstOrDefault();
            string worstText = worst.o is null ? "" : $"{Cell(worst.o.Output)} {Format.Number(worst.o.Metrics!.AbsError.Max)} ({Cell(worst.p.Candidate)} vs {Cell(worst.p.Reference)})";
            var latency = c.Latency is { } lat ? $"{lat.Latency.Median.ToString("0.###", Inv)} ms{(lat.Passed ? "" : " ❌")}" : "";
            b.Append(Inv, $"| {Cell(c.Case.Name)} | {Word(c.Status)} | {Cell(string.Join(", ", c.Case.Runners.Select(s => s.Text)))} | {outputs.Count} | {worstText} | {latency} | {Seconds(c.Duration)} s |\n");
        }
        var bad = r.Cases.Where(c => c.Status != CaseStatus.Passed).ToList();
        if (bad.Count > 0)
        {
            b.Append("\n### What went wrong\n\n");
            foreach (var c in bad) b.Append(Inv, $"- **{Cell(c.Case.Name)}** ({Word(c.Status)}): {Cell(c.Message ?? "")}\n");
        }
        var updated = r.Cases.Where(c => c.Golden is not null).ToList();
        if (updated.Count > 0)
        {
            b.Append("\n### Golden files\n\n");
            foreach (var c in updated) b.Append(Inv, $"- {Cell(c.Case.Name)}: `{Relative(r, c.Case.Golden)}` {c.Golden}\n");
        }
        return b.ToString();
    }
}
