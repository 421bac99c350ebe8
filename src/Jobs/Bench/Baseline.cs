using System.Text.Json;
using System.Text.Json.Serialization;

namespace PolyNet.Jobs.Bench;

/// <summary>The parts of an earlier `polynet bench --json` document a comparison needs.</summary>
public sealed record BaselineDocument(string? Model, string? ModelSha256, string? OrtVersion, string? Device, IReadOnlyDictionary<string, string>? InputShapes, IReadOnlyList<BaselineRunner>? Runners);

public sealed record BaselineRunner(string Runner, string? Spec, [property: JsonPropertyName("samples_ms")] IReadOnlyList<double>? Samples);

/// <summary>One runner against its baseline.</summary>
/// <param name="Change">Current median / baseline median − 1.</param>
/// <param name="Shift">The Hodges-Lehmann ratio − 1 (the median of every current run over every baseline run), with
/// its 95% interval <paramref name="ShiftLow"/>..<paramref name="ShiftHigh"/>: the effect size.</param>
/// <param name="P">The one-sided Mann-Whitney p-value of the verdict's question: slower beyond the threshold (for
/// "slower" and "same") or faster beyond it (for "faster").</param>
/// <param name="Verdict">"slower", "faster" or "same" (no significant change beyond the threshold).</param>
/// <param name="Fails">Significantly slower by more than the allowed slowdown.</param>
public sealed record BaselineVerdict(string Runner, [property: JsonPropertyName("baseline_median_ms")] double BaselineMedian, [property: JsonPropertyName("median_ms")] double Median,
    double Change, double Shift, double ShiftLow, double ShiftHigh, double P, string Verdict, bool Fails)
{
    /// <summary>"median +12.0%, shift +11.8% (95% CI +10.9% to +12.6%)": the effect size, for people.</summary>
    public string Effect() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"median {100 * Change:+0.0;-0.0}%, shift {100 * Shift:+0.0;-0.0}% (95% CI {100 * ShiftLow:+0.0;-0.0}% to {100 * ShiftHigh:+0.0;-0.0}%)");

    /// <summary>The verdict against <paramref name="maxSlowdown"/>, with the effect and the test's p-value.</summary>
    public string Describe(double maxSlowdown)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return Verdict switch
        {
            "slower" => string.Create(inv, $"SLOWER: {Effect()}, significantly beyond {100 * maxSlowdown:0.#}% ({PText()})"),
            "faster" => string.Create(inv, $"faster: {Effect()}, significantly beyond {100 * maxSlowdown:0.#}% ({PText()})"),
            _ => string.Create(inv, $"same: {Effect()}, not significantly slower beyond {100 * maxSlowdown:0.#}% (p = {P:0.###})"),
        };
    }

    /// <summary>"p = 3.2e-12", or "p &lt; 1e-300" where the test's p-value underflows to 0.</summary>
    private string PText() => P > 0 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p = {P:0.###e+0}") : "p < 1e-300";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, WriteIndented = true)]
[JsonSerializable(typeof(BaselineDocument))]
internal sealed partial class BaselineJson : JsonSerializerContext;

/// <summary>
/// `polynet bench --baseline FILE`: each runner's timed runs against the same runner's in an earlier bench's JSON,
/// with a one-sided Mann-Whitney U test against a minimum effect and the Hodges-Lehmann ratio as the effect size.
/// </summary>
public static class Baseline
{
    /// <summary>Significance level of the test.</summary>
    public const double Alpha = 0.01;

    public static BaselineDocument Read(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file (write one with polynet bench ... --json FILE)");
        BaselineDocument? doc;
        try { doc = JsonSerializer.Deserialize(File.ReadAllBytes(path), BaselineJson.Default.BaselineDocument); }
        catch (JsonException e) { throw InvalidInputException.ForFile(path, $"not a polynet bench JSON document ({e.Message.Split('.')[0]})"); }
        if (doc?.Runners is not { Count: > 0 } runners || runners.Any(r => r.Samples is not { Count: > 0 }))
            throw InvalidInputException.ForFile(path, "holds no runner with timed runs (samples_ms): write it with this version's polynet bench --json");
        return doc;
    }

    /// <summary>SHA-256 of a model file, hex, read as a stream (a model may be gigabytes).</summary>
    public static string ModelSha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(f));
    }

    /// <summary>A slowdown as a fraction: "5%", "5" and "0.5%" are 0.05, 0.05 and 0.005. <paramref name="what"/> names the option or key.</summary>
    public static double ParseSlowdown(string what, string text)
    {
        var t = text.Trim().TrimEnd('%');
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || !(v >= 0) || double.IsInfinity(v))
            throw new InvalidInputException($"{what} '{text}' must be a percentage such as 5%");
        return v / 100;
    }

    /// <summary>Writes a baseline (the subset of bench's JSON that <see cref="Read"/> needs), atomically.</summary>
    public static void Write(string path, BaselineDocument doc)
        => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, doc, BaselineJson.Default.BaselineDocument));

    /// <summary>The baseline's runner of the same name; an error naming those it has when there is none.</summary>
    public static BaselineRunner For(string path, BaselineDocument doc, string runner)
        => doc.Runners!.FirstOrDefault(r => r.Runner == runner)
            ?? throw InvalidInputException.ForFile(path, $"has no runner '{runner}' (it has {string.Join(", ", doc.Runners!.Select(r => r.Runner))}); compare the same --runner configurations");

    /// <summary>
    /// BenchmarkDotNet's statistical test: the runs are significantly slower (or faster) when a one-sided Mann-Whitney
    /// test with the threshold applied to the baseline rejects at <see cref="Alpha"/>; a drift smaller than the
    /// threshold passes however significant, since thousands of runs make any drift significant.
    /// </summary>
    public static BaselineVerdict Compare(string runner, IReadOnlyList<double> baseline, IReadOnlyList<double> current, double maxSlowdown)
    {
        double before = LatencyStatistics.Median(baseline), now = LatencyStatistics.Median(current);
        var ratio = LatencyStatistics.Ratio(baseline, current);
        double pSlower = LatencyStatistics.PLargerBeyond(baseline, current, maxSlowdown);
        double pFaster = LatencyStatistics.PLargerBeyond(current, baseline, maxSlowdown);
        string verdict = pSlower < Alpha ? "slower" : pFaster < Alpha ? "faster" : "same";
        return new BaselineVerdict(runner, before, now, now / before - 1, ratio.Estimate - 1, ratio.Low - 1, ratio.High - 1,
            verdict == "faster" ? pFaster : pSlower, verdict, verdict == "slower");
    }
}
