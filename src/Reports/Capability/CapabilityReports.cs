using System.Globalization;
using System.Text;
using System.Text.Json;
using PolyNet.Reports.Json;
using PolyNet.Runners.Inspect.TensorRt;

namespace PolyNet.Reports.Capability;

/// <summary>What `polynet inspect capability` found: the static answer and, where TensorRT is present, the real one.</summary>
public sealed record CapabilityReport(TrtCapabilityResult Result, TrtRealCheck Real);

/// <summary>`inspect capability --json`: `partitions` and `unsupported` first, then every node's verdict.</summary>
public sealed class CapabilityJsonReport : ReportWriter<CapabilityReport>
{
    public static CapabilityJsonReport Default { get; } = new();
    public override string Name => "JSON";
    public override string Option => "--json";
    public override string Extension => ".json";
    public override string Description => "Write the partitions, the unsupported nodes with their reasons and every node's verdict as JSON";

    public override void Write(CapabilityReport r, Stream stream)
    {
        var c = r.Result;
        var doc = new CapabilityDocument("polynet", ReportJson.ToolVersion, c.Model, c.TrtVersion, c.Source, c.Opset, c.WholeModel, c.Nodes.Count,
            c.Unsupported.Count, c.Partitions, c.Unsupported, c.CrossingTensors, c.Caveats, r.Real, c.Nodes);
        JsonSerializer.Serialize(stream, doc, ReportJson.Default.CapabilityDocument);
    }
}

/// <summary>`inspect capability --report`: the verdict, a picture of the graph cut into engines, and the tables.</summary>
public sealed class CapabilityHtmlReport : ReportWriter<CapabilityReport>
{
    public static CapabilityHtmlReport Default { get; } = new();
    public override string Name => "HTML";
    public override string Option => "--report";
    public override string Extension => ".html";
    public override string Description => "Write an HTML report: the graph cut into TensorRT engines and fallback nodes, drawn, with every reason";

    public override void Write(CapabilityReport r, Stream stream)
    {
        using var w = Text(stream);
        w.Write(Render(r));
    }

    public static string Render(CapabilityReport r)
    {
        static string E(string s) => HtmlReport.E(s);
        var c = r.Result;
        var h = new StringBuilder();
        var title = $"polynet inspect capability {c.Model} (TensorRT {c.TrtVersion})";
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title>\n<style>\n").Append(HtmlReport.Css).Append("</style></head>\n<body>\n");
        h.Append(CultureInfo.InvariantCulture, $"<h1>TensorRT {E(c.TrtVersion)} capability: <span class=\"{(c.WholeModel ? "pass" : "fail")}\">{E(CapabilityHtml.Verdict(c))}</span></h1>\n<p class=\"cmd\">{E(title)}</p>\n");
        h.Append("<p>Support table: ").Append(E(c.Source)).Append(". ").Append(E(CapabilityHtml.Real(r.Real))).Append("</p>\n");
        CapabilityHtml.Body(h, c);
        h.Append("<script>\n").Append(HtmlReport.Script).Append("</script>\n</body></html>\n");
        return h.ToString();
    }
}
