using PolyNet.Onnx;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using PolyNet.Jobs;
using PolyNet.Jobs.Suite;
using PolyNet.Reports;

namespace PolyNet.Reports.Suite;

/// <summary>
/// The files a suite run writes for CI: JUnit XML, a Markdown summary, the HTML report (one section per case) and
/// JSON. All are written atomically and deterministically: two runs of the same suite give the same bytes apart
/// from durations (no timestamps, no host names; paths relative to the suite file; cases in suite order).
/// </summary>
public static class SuiteReports
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one testsuite per suite file, one testcase per
    /// case (classname = suite name), a failure element for a case whose outputs differ (its message names every
    /// failing output and by how much), an error element for bad input or a failed runner.
    /// </summary>
    public static void WriteJUnit(string path, SuiteResult r) => AtomicFile.Write(path, s => WriteJUnit(s, r));

    public static void WriteJUnit(Stream stream, SuiteResult r)
    {
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        using var x = XmlWriter.Create(stream, settings);
        int failures = r.Cases.Count(c => c.Status == CaseStatus.Failed);
        int errors = r.Cases.Count(c => c.Status is CaseStatus.BadInput or CaseStatus.RunnerFailed);
        string time = Seconds(r.Duration);
        x.WriteStartDocument();
        x.WriteStartElement("testsuites");
        x.WriteAttributeString("name", $"polynet suite {r.Suite.Name}");
        x.WriteAttributeString("tests", r.Cases.Count.ToString(Inv));
        x.WriteAttributeString("failures", failures.ToString(Inv));
        x.WriteAttributeString("errors", errors.ToString(Inv));
        x.WriteAttributeString("skipped", "0");
        x.WriteAttributeString("time", time);
        x.WriteStartElement("testsuite");
        x.WriteAttributeString("name", r.Suite.Name);
        x.WriteAttributeString("tests", r.Cases.Count.ToString(Inv));
        x.WriteAttributeString("failures", failures.ToString(Inv));
        x.WriteAttributeString("errors", errors.ToString(Inv));
        x.WriteAttributeString("skipped", "0");
        x.WriteAttributeString("time", time);
        x.WriteAttributeString("file", Relative(r, r.Suite.Path));
        foreach (var c in r.Cases)
        {
            x.WriteStartElement("testcase");
            x.WriteAttributeString("name", c.Case.Name);
            x.WriteAttributeString("classname", r.Suite.Name);
            x.WriteAttributeString("time", Seconds(c.Duration));
            x.WriteAttributeString("file", Relative(r, r.Suite.Path));
            if (c.Case.Line > 0) x.WriteAttributeString("line", c.Case.Line.ToString(Inv));
            x.WriteStartElement("properties");
            Property(x, "model", Relative(r, c.Case.Model));
            Property(x, "runners", string.Join(" ", c.Case.Runners.Select(s => s.Text)));
            Property(x, "golden", Relative(r, c.Case.Golden));
            if (c.Case.Tags.Count > 0) Property(x, "tags", string.Join(",", c.Case.Tags));
            x.WriteEndElement();
            switch (c.Status)
            {
                case CaseStatus.Failed:
                    x.WriteStartElement("failure");
                    x.WriteAttributeString("message", c.Message ?? "outputs differ");
                    x.WriteAttributeString("type", "OutputMismatch");
                    x.WriteString(Details(c));
                    x.WriteEndElement();
                    break;
                case CaseStatus.BadInput or CaseStatus.RunnerFailed:
                    x.WriteStartElement("error");
                    x.WriteAttributeString("message", c.Message ?? "");
                    x.WriteAttributeString("type", c.Status == CaseStatus.BadInput ? "BadInput" : "RunnerFailed");
                    x.WriteString(c.Message ?? "");
                    x.WriteEndElement();
                    break;
            }
            x.WriteElementString("system-out", Details(c));
            x.WriteEndElement();
        }
        x.WriteEndElement();
        x.WriteEndElement();
        x.WriteEndDocument();
    }

    /// <summary>A summary fit for a CI step summary ($GITHUB_STEP_SUMMARY): a verdict line, a table, then the failures.</summary>
    public static void WriteMarkdown(string path, SuiteResult r) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, new UTF8Encoding(false)) { NewLine = "\n" };
        w.Write(Markdown(r));
    });

    public static string Markdown(SuiteResult r)
    {
        var b = new StringBuilder();
        int passed = r.Cases.Count(c => c.Status == CaseStatus.Passed);
        string verdict = r.ExitCode == ExitCodes.Success && !r.Interrupted ? "✅ PASSED" : "❌ FAILED";
        b.Append(Inv, $"## PolyNet suite `{r.Suite.Name}`: {verdict}\n\n");
        b.Append(Inv, $"{passed} of {r.Cases.Count} cases passed");
        foreach (var (status, word) in new[] { (CaseStatus.Failed, "failed"), (CaseStatus.BadInput, "had bad input"), (CaseStatus.RunnerFailed, "had a runner fail") })
            if (r.Cases.Count(c => c.Status == status) is > 0 and var n) b.Append(Inv, $", {n} {word}");
        b.Append(Inv, $" in {Seconds(r.Duration)} s.");
        if (r.Interrupted) b.Append(Inv, $" **Interrupted**: {r.Selected - r.Cases.Count} selected case(s) did not run.");
        b.Append("\n\n");
        b.Append("| case | result | runners | outputs compared | worst max abs error | time |\n|---|---|---|---:|---|---:|\n");
        foreach (var c in r.Cases)
        {
            var outputs = c.Result?.Pairs.SelectMany(p => p.Outputs.Select(o => (p, o))).ToList() ?? [];
            var worst = outputs.Where(x => x.o.Metrics is { Count: > 0 }).OrderByDescending(x => x.o.Passed ? 0 : 1).ThenByDescending(x => x.o.Metrics!.AbsError.Max).FirstOrDefault();
            string worstText = worst.o is null ? "" : $"{Cell(worst.o.Output)} {Format.Number(worst.o.Metrics!.AbsError.Max)} ({Cell(worst.p.Candidate)} vs {Cell(worst.p.Reference)})";
            b.Append(Inv, $"| {Cell(c.Case.Name)} | {Word(c.Status)} | {Cell(string.Join(", ", c.Case.Runners.Select(s => s.Text)))} | {outputs.Count} | {worstText} | {Seconds(c.Duration)} s |\n");
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

    /// <summary>Every case with its status and every comparison with every metric (the run report's pair objects).</summary>
    public static void WriteJson(string path, SuiteResult r) => AtomicFile.Write(path, s =>
    {
        using var j = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
        j.WriteStartObject();
        j.WriteString("tool", "polynet");
        j.WriteString("version", typeof(SuiteReports).Assembly.GetName().Version?.ToString(3));
        j.WriteString("suite", r.Suite.Name);
        j.WriteString("file", Relative(r, r.Suite.Path));
        j.WriteBoolean("passed", r.ExitCode == ExitCodes.Success && !r.Interrupted);
        j.WriteBoolean("interrupted", r.Interrupted);
        j.WriteNumber("exit_code", r.ExitCode);
        j.WriteNumber("duration_ms", Math.Round(r.Duration.TotalMilliseconds, 3));
        j.WriteStartArray("cases");
        foreach (var c in r.Cases)
        {
            j.WriteStartObject();
            j.WriteString("name", c.Case.Name);
            j.WriteString("status", Word(c.Status));
            if (c.Message is not null) j.WriteString("message", c.Message);
            j.WriteString("model", Relative(r, c.Case.Model));
            j.WriteString("golden", Relative(r, c.Case.Golden));
            if (c.Golden is not null) j.WriteString("golden_update", c.Golden);
            j.WriteStartArray("tags");
            foreach (var t in c.Case.Tags) j.WriteStringValue(t);
            j.WriteEndArray();
            j.WriteStartArray("runners");
            foreach (var spec in c.Case.Runners) j.WriteStringValue(spec.Text);
            j.WriteEndArray();
            j.WriteNumber("duration_ms", Math.Round(c.Duration.TotalMilliseconds, 3));
            if (c.Result is { } res)
            {
                j.WriteNumber("samples", res.Samples);
                j.WriteStartArray("comparisons");
                foreach (var p in res.Pairs) JsonReport.WritePair(j, p);
                j.WriteEndArray();
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    });

    /// <summary>The comparator's HTML report with one section per case.</summary>
    public static void WriteHtml(string path, SuiteResult r)
        => HtmlReport.Write(path, r.Cases.Select(c => new ReportSection(c.Case.Name, c.Result, c.Result is null ? c.Message : null)).ToList(), $"polynet suite run {Relative(r, r.Suite.Path)}");

    public static string Word(CaseStatus s) => s switch
    {
        CaseStatus.Passed => "passed",
        CaseStatus.Failed => "failed",
        CaseStatus.BadInput => "bad input",
        _ => "runner failed",
    };

    /// <summary>Per failing output: which runners, how far off, what would pass. Then the case's log.</summary>
    private static string Details(CaseResult c)
    {
        var b = new StringBuilder();
        if (c.Result is { } res)
            foreach (var p in res.Pairs)
            {
                foreach (var o in p.Outputs)
                {
                    b.Append(Inv, $"{(o.Passed ? "PASSED" : "FAILED")} {o.Output} ({p.Candidate} vs {p.Reference}, sample {p.Sample}): {o.Reason}");
                    if (o.Metrics is { Count: > 0 } m && !o.Exact)
                        b.Append(Inv, $"; max abs {Format.Number(m.AbsError.Max)}, max rel {Format.Number(m.RelError.Max)}, tolerance {o.Tolerance}; passes with atol >= {Format.Number(m.NeededAtol)} or rtol >= {Format.Number(m.NeededRtol)}");
                    b.Append('\n');
                }
                foreach (var m in p.MissingInCandidate) b.Append(Inv, $"FAILED {m}: {p.Reference} has it, {p.Candidate} does not\n");
            }
        foreach (var (level, message) in c.Log.Where(l => l.Level != "V"))
            if (!message.Contains(" ready in ", StringComparison.Ordinal) && !message.EndsWith(" activating ...", StringComparison.Ordinal)) // progress, and the one line that carries a time
                b.Append(Inv, $"[{level}] {message}\n");
        return b.ToString();
    }

    private static void Property(XmlWriter x, string name, string value)
    {
        x.WriteStartElement("property");
        x.WriteAttributeString("name", name);
        x.WriteAttributeString("value", value);
        x.WriteEndElement();
    }

    private static string Relative(SuiteResult r, string path) => Path.GetRelativePath(Path.GetDirectoryName(r.Suite.Path)!, path).Replace('\\', '/');
    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", Inv);
    private static string Cell(string s) => s.Replace("|", "\\|").ReplaceLineEndings(" ");
}
