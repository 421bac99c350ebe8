using System.Globalization;
using System.Text;
using PolyNet.Runners.Inspect.TensorRt;

namespace PolyNet.Reports;

/// <summary>The TensorRT capability drawn and tabled in HTML: a section of `run --report` and the body of `inspect capability --report`.</summary>
public static class CapabilityHtml
{
    private static readonly string[] Colors = ["#2f81f7", "#1a7f37", "#8250df", "#bf8700", "#0a7ea4", "#6e7781"];

    /// <summary>The capability as a section of another report (`polynet run --report` with a trt runner).</summary>
    public static void Section(StringBuilder h, TrtCapabilityResult c)
    {
        h.Append($"<h2>TensorRT {HtmlReport.E(c.TrtVersion)} capability (static, from the parser's support table): <span class=\"{(c.WholeModel ? "pass" : "fail")}\">{HtmlReport.E(Verdict(c))}</span></h2>\n");
        Body(h, c);
    }

    public static void Body(StringBuilder h, TrtCapabilityResult c)
    {
        static string E(string s) => HtmlReport.E(s);
        foreach (var cav in c.Caveats) h.Append("<p class=\"hint\">").Append(E(cav)).Append("</p>\n");
        h.Append(Strip(c));
        h.Append("<h3>Engines</h3>\n<table><thead><tr><th>engine</th><th>nodes</th><th>first</th><th>last</th><th>inputs</th><th>outputs</th></tr></thead><tbody>\n");
        foreach (var p in c.Partitions)
            h.Append(CultureInfo.InvariantCulture, $"<tr class=\"pass\"><td>{p.Index}</td><td>{p.Nodes.Count}</td><td>{E(p.Nodes[0])}</td><td>{E(p.Nodes[^1])}</td><td>{E(string.Join(", ", p.Inputs))}</td><td>{E(string.Join(", ", p.Outputs))}</td></tr>\n");
        h.Append("</tbody></table>\n");
        if (c.Unsupported.Count > 0)
        {
            h.Append("<h3>Nodes that fall back to ONNX Runtime</h3>\n<table><thead><tr><th>node</th><th>op</th><th>why</th></tr></thead><tbody>\n");
            foreach (var n in c.Unsupported)
                h.Append($"<tr class=\"fail\"><td>{E(n.Name)}</td><td>{E(n.OpType)}</td><td>{E(string.Join("; ", n.Reasons))}</td></tr>\n");
            h.Append("</tbody></table>\n");
        }
        if (c.CrossingTensors.Count > 0)
            h.Append("<p>Tensors crossing between TensorRT and ONNX Runtime: ").Append(E(string.Join(", ", c.CrossingTensors))).Append("</p>\n");
    }

    public static string Verdict(TrtCapabilityResult c)
    {
        int inEngines = c.Partitions.Sum(p => p.Nodes.Count);
        int weights = c.Nodes.Count - inEngines - c.Unsupported.Count;
        var w = weights > 0 ? $", {weights} more computing weights from constants" : "";
        return c.WholeModel
            ? $"the whole model in one engine ({Plural(inEngines, "node")}{w})"
            : $"{Plural(c.Partitions.Count, "engine")}, {c.Unsupported.Count} of {Plural(c.Nodes.Count, "node")} fall back to ONNX Runtime{w}";
    }

    private static string Plural(int n, string word) => $"{n} {word}{(n == 1 ? "" : "s")}";

    public static string Real(TrtRealCheck real) => !real.Available
        ? $"Not checked against TensorRT: {real.Missing}."
        : real.Differences.Count == 0 ? $"Checked against TensorRT: it {(real.WholeModelBuilt == true ? "built the whole model" : "could not build the whole model")}, as the static check says."
        : $"Checked against TensorRT, which disagrees: {string.Join("; ", real.Differences)}.";

    /// <summary>Every node in file order as a cell: coloured by engine, red where it falls back, grey for weights (Constant).</summary>
    private static string Strip(TrtCapabilityResult c)
    {
        var engineOf = new Dictionary<int, int>();
        foreach (var p in c.Partitions) foreach (var i in p.NodeIndices) engineOf[i] = p.Index;
        int n = c.Nodes.Count, perRow = 100, cell = 9, rows = Math.Max(1, (n + perRow - 1) / perRow);
        int width = perRow * cell, height = rows * cell;
        var h = new StringBuilder();
        h.Append(CultureInfo.InvariantCulture, $"<figure data-figure=\"partitions\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
        foreach (var v in c.Nodes)
        {
            var (fill, what) = !v.Supported ? ("#cf222e", "falls back: " + string.Join("; ", v.Reasons))
                : engineOf.TryGetValue(v.Index, out var e) ? (Colors[e % Colors.Length], $"engine {e}") : ("#d0d7de", "weights (computed from constants, folded before partitioning)");
            h.Append(CultureInfo.InvariantCulture, $"<rect x=\"{v.Index % perRow * cell}\" y=\"{v.Index / perRow * cell}\" width=\"{cell - 1}\" height=\"{cell - 1}\" fill=\"{fill}\"><title>{HtmlReport.E($"#{v.Index} {v.Name} ({v.OpType}): {what}")}</title></rect>");
        }
        h.Append("</svg><figcaption>every node in file order, one square each (hover for its name): a colour per TensorRT engine, red where the node falls back to ONNX Runtime, grey for weights</figcaption></figure>\n");
        return h.ToString();
    }
}
