using System.CommandLine;
using PolyNet.Compare;
using PolyNet.Reports;
using PolyNet.Runners;

namespace PolyNet.Cli.Commands;

/// <summary>Options shared by the commands that compare (run, compare, suite): tolerances and report files.</summary>
internal sealed class ToleranceOptions
{
    public readonly Option<string[]> Atol = MultiValue.Create("--atol",
        "Absolute tolerance: a default and/or OUTPUT:VALUE per output (default 1e-5)", "[OUTPUT:]VALUE", ToleranceSet.LooksLikeNumberSpec);
    public readonly Option<string[]> Rtol = MultiValue.Create("--rtol",
        "Relative tolerance, relative to |reference| (default 1e-5)", "[OUTPUT:]VALUE", ToleranceSet.LooksLikeNumberSpec);
    public readonly Option<string[]> Stat = MultiValue.Create("--check-error-stat",
        "What is checked: elemwise (default: every element within atol + rtol·|ref|), max, mean, median, quantile", "[OUTPUT:]STAT",
        s => ToleranceSet.TryParseStat(s.Split(':')[^1], out _));
    public readonly Option<double> Quantile = new("--error-quantile") { Description = "Quantile for --check-error-stat quantile (default 0.99)", DefaultValueFactory = _ => 0.99 };
    public readonly Option<int?> TopK = new("--top-k") { Description = "Judge outputs by their top-K class indices along the last axis (every row's top-K set must agree) and report the agreement", HelpName = "K" };
    public readonly Option<string[]> MaxMismatch = MultiValue.Create("--max-mismatch-percent",
        "Elemwise: pass while at most this percentage of elements is out of tolerance (default 0)", "[OUTPUT:]PERCENT", ToleranceSet.LooksLikeNumberSpec);

    public void AddTo(Command c)
    {
        c.Options.Add(Atol);
        c.Options.Add(Rtol);
        c.Options.Add(Stat);
        c.Options.Add(Quantile);
        c.Options.Add(MaxMismatch);
        c.Options.Add(TopK);
    }

    /// <summary>Comparator options beyond tolerances; <paramref name="explainAll"/> asks for explanations of every output (a report shows them).</summary>
    public CompareOptions ReadOptions(ParseResult p, bool explainAll = false)
    {
        var k = p.GetValue(TopK);
        if (k is < 1) throw new InvalidInputException($"--top-k {k}: must be at least 1");
        return new CompareOptions { TopK = k, Explain = explainAll ? ExplainMode.All : ExplainMode.Failing };
    }

    public ToleranceSet Read(ParseResult p)
    {
        var t = new ToleranceSet();
        foreach (var s in p.GetValue(Atol) ?? []) t.AddAtol(s);
        foreach (var s in p.GetValue(Rtol) ?? []) t.AddRtol(s);
        foreach (var s in p.GetValue(Stat) ?? []) t.AddStat(s);
        foreach (var s in p.GetValue(MaxMismatch) ?? []) t.AddMaxMismatchPercent(s);
        var q = p.GetValue(Quantile);
        if (!(q > 0 && q <= 1)) throw new InvalidInputException($"--error-quantile {q}: must be in (0, 1]");
        t.Quantile = q;
        return t;
    }
}

internal static class RunnerSpecs
{
    public static bool LooksLikeSpec(string s) => RunnerRegistry.IsKind(s.Split(':')[0].Trim().ToLowerInvariant());
}

/// <summary>One option per report format a command writes (<see cref="ReportFormats"/>), and the reports asked for.</summary>
internal sealed class ReportOptions<T>(IReadOnlyList<ReportWriter<T>> writers)
{
    private readonly IReadOnlyList<(ReportWriter<T> Writer, Option<string?> Option)> _options =
        writers.Select(w => (w, new Option<string?>(w.Option) { Description = w.Description, HelpName = "FILE" + w.Extension })).ToList();

    public void AddTo(Command c)
    {
        foreach (var (_, o) in _options) c.Options.Add(o);
    }

    public IReadOnlyList<ReportRequest<T>> Read(ParseResult p)
        => _options.Select(x => (x.Writer, Path: p.GetValue(x.Option))).Where(x => x.Path is not null).Select(x => new ReportRequest<T>(x.Writer, x.Path!)).ToList();
}

/// <summary>`--upgrade-opset N` (run, reduce, suite run): the model is upgraded in memory before it runs.</summary>
internal static class UpgradeOpsetOption
{
    public static Option<long?> Create() => new("--upgrade-opset")
    {
        Description = $"Upgrade the model to this ONNX opset ({Onnx.Transforms.Opsets.OpsetUpgrade.MinTarget}-{Onnx.Transforms.Opsets.OpsetUpgrade.MaxTarget}) before it runs, as 'polynet surgeon upgrade' does (ONNX Runtime has no kernels older than opset 7)",
        HelpName = "N",
    };
}
