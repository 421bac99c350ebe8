using System.Text;
using System.Xml;
using PolyNet.Jobs.Suite;
using static PolyNet.Reports.Suite.SuiteText;

namespace PolyNet.Reports.Suite;

/// <summary>
/// JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one testsuite per suite file, one testcase per
/// case (classname = suite name), a failure element for a case whose outputs differ (its message names every
/// failing output and by how much), an error element for bad input or a failed runner. Deterministic: no
/// timestamps, no host names.
/// </summary>
public sealed class JUnitReport : ReportWriter<SuiteResult>
{
    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;
    public static JUnitReport Default { get; } = new();
    public override string Name => "JUnit XML";
    public override string Option => "--junit";
    public override string Extension => ".xml";
    public override string Description => "Write JUnit XML (one testcase per case; failures name the output and by how much)";

    public override void Write(SuiteResult r, Stream stream)
    {
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        using var x = XmlWriter.Create(stream, settings);
        int failures = r.Cases.Count(c => c.Status is CaseStatus.Failed or CaseStatus.TooSlow);
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
                case CaseStatus.Failed or CaseStatus.TooSlow:
                    x.WriteStartElement("failure");
                    x.WriteAttributeString("message", c.Message ?? (c.Status == CaseStatus.Failed ? "outputs differ" : "too slow"));
                    x.WriteAttributeString("type", c.Status == CaseStatus.Failed ? "OutputMismatch" : "LatencyBudget");
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

    private static void Property(XmlWriter x, string name, string value)
    {
        x.WriteStartElement("property");
        x.WriteAttributeString("name", name);
        x.WriteAttributeString("value", value);
        x.WriteEndElement();
    }

}
