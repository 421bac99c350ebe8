using PolyNet.Onnx;
using System.Text.Json;
using PolyNet.Jobs;

namespace PolyNet.Reports;

/// <summary>
/// The machine-readable report (--json FILE): every runner, every comparison, every metric. Non-finite numbers are
/// written as the strings "nan", "inf" and "-inf" (JSON has no such numbers). Written atomically.
/// </summary>
public static class JsonReport
{
    public static void Write(string path, RunJobResult result, string modelPath)
        => AtomicFile.Write(path, s => Write(s, result, modelPath));

    public static void Write(Stream stream, RunJobResult result, string modelPath)
    {
        using var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        j.WriteStartObject();
        j.WriteString("tool", "polynet");
        j.WriteString("version", typeof(JsonReport).Assembly.GetName().Version?.ToString(3));
        j.WriteString("model", modelPath);
        j.WriteBoolean("passed", result.Passed);
        j.WriteNumber("samples", result.Samples);
        j.WriteStartArray("runners");
        foreach (var r in result.Runners)
        {
            j.WriteStartObject();
            j.WriteString("name", r.Name);
            j.WriteStartArray("notes");
            foreach (var n in r.Notes) j.WriteStringValue(n);
            j.WriteEndArray();
            j.WriteNumber("activation_ms", r.Activation.TotalMilliseconds);
            j.WriteStartArray("inference_ms");
            foreach (var t in r.Inferences) j.WriteNumberValue(t.TotalMilliseconds);
            j.WriteEndArray();
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteStartArray("comparisons");
        foreach (var p in result.Pairs) WritePair(j, p);
        j.WriteEndArray();
        j.WriteStartArray("files_written");
        foreach (var f in result.FilesWritten) j.WriteStringValue(f);
        j.WriteEndArray();
        if (result.Layerwise is { } layers) WriteLayerwise(j, layers);
        j.WriteEndObject();
    }

    public static void WriteLayerwise(Utf8JsonWriter j, Jobs.Layerwise.LayerwiseResult r)
    {
        j.WriteStartObject("layerwise");
        j.WriteNumber("sample", r.Sample);
        j.WriteString("reference", r.Reference);
        j.WriteNumber("marked", r.Marked);
        j.WriteNumber("chunks", r.Chunks);
        j.WriteNumber("runs", r.Runs);
        j.WriteStartArray("notes");
        foreach (var n in r.Notes) j.WriteStringValue(n);
        j.WriteEndArray();
        j.WriteStartArray("candidates");
        foreach (var c in r.Candidates)
        {
            j.WriteStartObject();
            j.WriteString("candidate", c.Candidate);
            if (c.FirstDivergence is { } f) j.WriteString("first_divergence", f.Tensor);
            else j.WriteNull("first_divergence");
            j.WriteStartArray("tensors");
            foreach (var t in c.Tensors)
            {
                j.WriteStartObject();
                j.WriteNumber("position", t.Position);
                j.WriteString("node", t.NodeName);
                j.WriteString("op_type", t.OpType);
                j.WritePropertyName("comparison");
                WriteOutput(j, t.Comparison);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            if (c.Localization is { } loc)
            {
                j.WriteStartObject("localization");
                j.WriteNumber("runs", loc.Runs);
                j.WriteStartArray("nodes");
                foreach (var n in loc.Nodes)
                {
                    j.WriteStartObject();
                    j.WriteNumber("position", n.Position);
                    j.WriteString("node", n.NodeName);
                    j.WriteString("op_type", n.OpType);
                    j.WriteString("tensor", n.Tensor);
                    if (n.Introduces is { } b) j.WriteBoolean("introduces", b);
                    else j.WriteNull("introduces");
                    if (n.Note is not null) j.WriteString("note", n.Note);
                    if (n.Isolated is not null)
                    {
                        j.WritePropertyName("isolated");
                        WriteOutput(j, n.Isolated);
                    }
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteStartArray("explained");
                foreach (var e in loc.Explained) Explanation(j, e);
                j.WriteEndArray();
                j.WriteStartObject("explained_each");
                foreach (var (node, list) in loc.ExplainedEach)
                {
                    j.WriteStartArray(node);
                    foreach (var e in list) Explanation(j, e);
                    j.WriteEndArray();
                }
                j.WriteEndObject();
                j.WriteEndObject();
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void Explanation(Utf8JsonWriter j, Jobs.Layerwise.OutputExplanation e)
    {
        j.WriteStartObject();
        j.WriteString("output", e.Output);
        Num(j, "rel_l2_before", e.Before);
        Num(j, "rel_l2_after", e.After);
        Num(j, "max_abs_before", e.MaxAbsBefore);
        Num(j, "max_abs_after", e.MaxAbsAfter);
        Num(j, "explained", e.Explained);
        j.WriteEndObject();
    }

    public static void WritePair(Utf8JsonWriter j, PairResult p)
    {
        j.WriteStartObject();
        j.WriteNumber("sample", p.Sample);
        j.WriteString("reference", p.Reference);
        j.WriteString("candidate", p.Candidate);
        j.WriteBoolean("passed", p.Passed);
        j.WriteStartArray("missing_in_candidate");
        foreach (var m in p.MissingInCandidate) j.WriteStringValue(m);
        j.WriteEndArray();
        j.WriteStartArray("only_in_candidate");
        foreach (var m in p.MissingInReference) j.WriteStringValue(m);
        j.WriteEndArray();
        j.WriteStartArray("outputs");
        foreach (var o in p.Outputs) WriteOutput(j, o);
        j.WriteEndArray();
        j.WriteEndObject();
    }

    public static void WriteOutput(Utf8JsonWriter j, OutputComparison o)
    {
        j.WriteStartObject();
        j.WriteString("output", o.Output);
        j.WriteBoolean("passed", o.Passed);
        j.WriteString("reason", o.Reason);
        j.WriteBoolean("exact", o.Exact);
        j.WriteStartObject("tolerance");
        Num(j, "atol", o.Tolerance.Atol);
        Num(j, "rtol", o.Tolerance.Rtol);
        j.WriteString("check_error_stat", o.Tolerance.Stat.ToString().ToLowerInvariant());
        Num(j, "error_quantile", o.Tolerance.Quantile);
        Num(j, "max_mismatch_percent", o.Tolerance.MaxMismatchPercent);
        j.WriteString("source", o.ToleranceSource);
        j.WriteEndObject();
        j.WriteString("reference_type", o.ReferenceType.DisplayName());
        j.WriteString("candidate_type", o.CandidateType.DisplayName());
        Shape(j, "reference_shape", o.ReferenceShape);
        Shape(j, "candidate_shape", o.CandidateShape);
        if (o.Hint is { } hint) j.WriteString("hint", hint);
        if (o.TopK is { } k)
        {
            j.WriteStartObject("top_k");
            j.WriteNumber("k", k.K);
            j.WriteNumber("rows", k.Rows);
            j.WriteNumber("top1_agree", k.Top1Agree);
            j.WriteNumber("sets_equal", k.SetsEqual);
            Num(j, "mean_overlap", k.MeanOverlap);
            j.WriteEndObject();
        }
        if (o.Metrics is { } m)
        {
            j.WriteStartObject("metrics");
            j.WriteNumber("count", m.Count);
            j.WriteNumber("mismatches", m.Mismatches);
            Num(j, "mismatch_percent", m.MismatchPercent);
            Dist(j, "abs_error", m.AbsError);
            Dist(j, "rel_error", m.RelError);
            Dist(j, "robust_rel_error", m.RobustRelError);
            Num(j, "robust_floor", m.RobustFloor);
            j.WriteNumber("infinite_abs_errors", m.InfiniteAbsErrors);
            j.WriteNumber("infinite_rel_errors", m.InfiniteRelErrors);
            Worst(j, "worst_abs", m.WorstAbs);
            Worst(j, "worst_rel", m.WorstRel);
            Num(j, "needed_atol", m.NeededAtol);
            Num(j, "needed_rtol", m.NeededRtol);
            Num(j, "cosine_similarity", m.CosineSimilarity);
            Num(j, "relative_l2", m.RelativeL2);
            Num(j, "snr_db", m.SnrDb);
            Num(j, "psnr_db", m.PsnrDb);
            Dist(j, "reference", m.Reference);
            Dist(j, "candidate", m.Candidate);
            j.WriteNumber("nan_reference", m.NanReference);
            j.WriteNumber("nan_candidate", m.NanCandidate);
            j.WriteNumber("inf_reference", m.InfReference);
            j.WriteNumber("inf_candidate", m.InfCandidate);
            j.WriteStartObject("histograms");
            Hist(j, "abs_error", m.AbsHistogram);
            Hist(j, "rel_error", m.RelHistogram);
            Hist(j, "reference", m.ReferenceHistogram);
            Hist(j, "candidate", m.CandidateHistogram);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        if (o.FirstStringMismatch is { } s) Worst(j, "first_string_mismatch", s);
        j.WriteEndObject();
    }

    public static void Num(Utf8JsonWriter j, string name, double v)
    {
        if (double.IsFinite(v)) j.WriteNumber(name, v);
        else j.WriteString(name, double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
    }

    private static void Shape(Utf8JsonWriter j, string name, Onnx.TensorShape? s)
    {
        if (s is null) { j.WriteNull(name); return; }
        j.WriteStartArray(name);
        foreach (var d in s.Value.Dims) j.WriteNumberValue(d);
        j.WriteEndArray();
    }

    private static void Dist(Utf8JsonWriter j, string name, Distribution d)
    {
        j.WriteStartObject(name);
        j.WriteNumber("count", d.Count);
        Num(j, "min", d.Min);
        Num(j, "max", d.Max);
        Num(j, "mean", d.Mean);
        Num(j, "std", d.Std);
        Num(j, "median", d.Median);
        Num(j, "p90", d.P90);
        Num(j, "p95", d.P95);
        Num(j, "p99", d.P99);
        Num(j, "quantile", d.Quantile);
        j.WriteEndObject();
    }

    private static void Worst(Utf8JsonWriter j, string name, WorstElement? w)
    {
        if (w is null) { j.WriteNull(name); return; }
        j.WriteStartObject(name);
        j.WriteNumber("flat_index", w.FlatIndex);
        j.WriteString("index", w.Index);
        j.WriteString("reference", w.Reference);
        j.WriteString("candidate", w.Candidate);
        Num(j, "abs_error", w.AbsError);
        Num(j, "rel_error", w.RelError);
        j.WriteEndObject();
    }

    private static void Hist(Utf8JsonWriter j, string name, Histogram? h)
    {
        if (h is null) { j.WriteNull(name); return; }
        j.WriteStartObject(name);
        j.WriteBoolean("log_scale", h.LogScale);
        j.WriteStartArray("bins");
        foreach (var b in h.Bins)
        {
            j.WriteStartObject();
            Num(j, "low", b.Low);
            Num(j, "high", b.High);
            j.WriteNumber("count", b.Count);
            j.WriteString("label", b.Label);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }
}
