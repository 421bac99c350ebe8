using System.Globalization;

using PolyNet.Onnx;

namespace PolyNet.Compare;

/// <summary>Which statistic of the error is checked against the tolerances (Polygraphy's --check-error-stat).</summary>
public enum ErrorStat
{
    /// <summary>Every element must satisfy |cand − ref| ≤ atol + rtol·|ref| (numpy's allclose rule).</summary>
    Elemwise,
    /// <summary>max |cand − ref| ≤ atol, or max relative error ≤ rtol.</summary>
    Max,
    /// <summary>mean absolute error ≤ atol, or mean relative error ≤ rtol.</summary>
    Mean,
    /// <summary>median absolute error ≤ atol, or median relative error ≤ rtol.</summary>
    Median,
    /// <summary>the q-quantile (--error-quantile, default 0.99) of absolute error ≤ atol, or of relative error ≤ rtol.</summary>
    Quantile,
}

/// <summary>The tolerances one output is judged by.</summary>
/// <param name="Atol">Absolute tolerance.</param>
/// <param name="Rtol">Relative tolerance (relative to |reference|).</param>
/// <param name="Stat">What is checked.</param>
/// <param name="Quantile">For <see cref="ErrorStat.Quantile"/>: which quantile, in (0, 1].</param>
/// <param name="MaxMismatchPercent">Elemwise only: pass while at most this percentage of elements is out of tolerance (default 0).</param>
public sealed record Tolerance(double Atol, double Rtol, ErrorStat Stat = ErrorStat.Elemwise, double Quantile = 0.99, double MaxMismatchPercent = 0)
{
    public override string ToString() => Stat switch
    {
        ErrorStat.Elemwise when MaxMismatchPercent > 0 => $"atol={Format.Number(Atol)} rtol={Format.Number(Rtol)} elemwise, ≤{Fmt(MaxMismatchPercent)}% mismatches",
        ErrorStat.Elemwise => $"atol={Format.Number(Atol)} rtol={Format.Number(Rtol)} elemwise",
        ErrorStat.Quantile => $"atol={Format.Number(Atol)} rtol={Format.Number(Rtol)} on the {Fmt(Quantile)}-quantile",
        _ => $"atol={Format.Number(Atol)} rtol={Format.Number(Rtol)} on the {Stat.ToString().ToLowerInvariant()}",
    };

    internal static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}

/// <summary>
/// Tolerances per output: a default and per-output overrides, parsed from the CLI's
/// <c>--atol 1e-5 out0:1e-3</c>, <c>--rtol</c>, <c>--check-error-stat</c> and <c>--max-mismatch-percent</c>.
/// A value without a name sets the default; NAME:VALUE sets one output (names may contain ':'; the last one splits).
/// Output names that the model does not have are reported by <see cref="UnknownNames"/>.
/// </summary>
public sealed class ToleranceSet
{
    public const double DefaultAtol = 1e-5;
    public const double DefaultRtol = 1e-5;

    // The state is public so that a set crosses a process boundary as data (the reducer's isolated checks); the
    // Add methods are how it is parsed.
    public double Atol { get; set; } = DefaultAtol;
    public double Rtol { get; set; } = DefaultRtol;
    public ErrorStat Stat { get; set; } = ErrorStat.Elemwise;
    public double Quantile { get; set; } = 0.99;
    public double MaxMismatchPercent { get; set; }
    /// <summary>True when the user set the default atol or rtol (dtype-aware defaults then do not apply).</summary>
    public bool UserSetTolerances { get; set; }
    public Dictionary<string, double> AtolPerOutput { get; init; } = new(StringComparer.Ordinal);
    public Dictionary<string, double> RtolPerOutput { get; init; } = new(StringComparer.Ordinal);
    public Dictionary<string, ErrorStat> StatPerOutput { get; init; } = new(StringComparer.Ordinal);
    public Dictionary<string, double> MaxMismatchPercentPerOutput { get; init; } = new(StringComparer.Ordinal);

    public Tolerance For(string output) => For(output, ComputePrecision.Fp32).Tolerance;

    /// <summary>
    /// The defaults PolyNet uses when the user gives no atol or rtol and a side computes in reduced precision:
    /// fp16 1e-3/1e-3, bf16 1e-2/1e-2, int8 5e-2/5e-2 (atol/rtol). fp32 and tf32 keep 1e-5/1e-5 (TF32 failures are
    /// explained with a hint instead, so that nobody's fp32 tolerance silently loosens).
    /// </summary>
    public static (double Atol, double Rtol) DefaultsFor(ComputePrecision p) => p switch
    {
        ComputePrecision.Fp16 => (1e-3, 1e-3),
        ComputePrecision.Bf16 => (1e-2, 1e-2),
        ComputePrecision.Int8 => (5e-2, 5e-2),
        _ => (DefaultAtol, DefaultRtol),
    };

    /// <summary>
    /// The tolerance of <paramref name="output"/> when the coarser side computes in <paramref name="precision"/>, and
    /// where it came from: "per-output", "user", or "&lt;precision&gt; default" when dtype-aware defaults apply.
    /// </summary>
    public (Tolerance Tolerance, string Source) For(string output, ComputePrecision precision)
    {
        double atol = Atol, rtol = Rtol;
        string source = UserSetTolerances ? "user" : "default";
        if (!UserSetTolerances && precision is not (ComputePrecision.Fp32 or ComputePrecision.Tf32))
        {
            (atol, rtol) = DefaultsFor(precision);
            source = $"{precision.Name()} default";
        }
        if (HasOverride(output)) source = "per-output";
        return (new Tolerance(
            AtolPerOutput.GetValueOrDefault(output, atol),
            RtolPerOutput.GetValueOrDefault(output, rtol),
            StatPerOutput.GetValueOrDefault(output, Stat),
            Quantile,
            MaxMismatchPercentPerOutput.GetValueOrDefault(output, MaxMismatchPercent)), source);
    }

    /// <summary>Settings that change no verdict: a mismatch allowance without the elementwise check, a quantile without the quantile check.</summary>
    public IReadOnlyList<string> Ineffective()
    {
        var stats = StatPerOutput.Values.Append(Stat).ToHashSet();
        var notes = new List<string>();
        if ((MaxMismatchPercent > 0 || MaxMismatchPercentPerOutput.Count > 0) && !stats.Contains(ErrorStat.Elemwise))
            notes.Add("--max-mismatch-percent applies to --check-error-stat elemwise; with the statistics asked for it changes nothing");
        if (Quantile != 0.99 && !stats.Contains(ErrorStat.Quantile))
            notes.Add("--error-quantile applies to --check-error-stat quantile; without it it changes nothing");
        return notes;
    }

    /// <summary>True when <paramref name="output"/> has its own atol or rtol.</summary>
    public bool HasOverride(string output) => AtolPerOutput.ContainsKey(output) || RtolPerOutput.ContainsKey(output);

    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<string> NamedOutputs => AtolPerOutput.Keys.Concat(RtolPerOutput.Keys).Concat(StatPerOutput.Keys).Concat(MaxMismatchPercentPerOutput.Keys).Distinct(StringComparer.Ordinal);

    /// <summary>Names given per output that are not among <paramref name="outputs"/>.</summary>
    public IReadOnlyList<string> UnknownNames(IEnumerable<string> outputs)
    {
        var known = outputs.ToHashSet(StringComparer.Ordinal);
        return NamedOutputs.Where(n => !known.Contains(n)).ToList();
    }

    public void AddAtol(string spec) => ParseNumber("--atol", spec, v => Atol = v, (n, v) => AtolPerOutput[n] = v, tol: true);
    public void AddRtol(string spec) => ParseNumber("--rtol", spec, v => Rtol = v, (n, v) => RtolPerOutput[n] = v, tol: true);
    public void AddMaxMismatchPercent(string spec) => ParseNumber("--max-mismatch-percent", spec, v => MaxMismatchPercent = v, (n, v) => MaxMismatchPercentPerOutput[n] = v, tol: false, max: 100);

    public void AddStat(string spec)
    {
        var (name, value) = Split(spec);
        if (!TryParseStat(value, out var stat))
            throw new InvalidInputException($"--check-error-stat {spec}: '{value}' is not one of elemwise, max, mean, median, quantile");
        if (name is null) Stat = stat;
        else StatPerOutput[name] = stat;
    }

    public static bool TryParseStat(string s, out ErrorStat stat)
    {
        switch (s.Trim().ToLowerInvariant())
        {
            case "elemwise": stat = ErrorStat.Elemwise; return true;
            case "max": stat = ErrorStat.Max; return true;
            case "mean": stat = ErrorStat.Mean; return true;
            case "median": stat = ErrorStat.Median; return true;
            case "quantile": stat = ErrorStat.Quantile; return true;
            default: stat = ErrorStat.Elemwise; return false;
        }
    }

    /// <summary>True when <paramref name="token"/> reads as a tolerance value (NAME:NUMBER or NUMBER).</summary>
    public static bool LooksLikeNumberSpec(string token)
    {
        var (_, value) = Split(token);
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }

    private void ParseNumber(string option, string spec, Action<double> setDefault, Action<string, double> setNamed, bool tol, double max = double.MaxValue)
    {
        var (name, value) = Split(spec);
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v) || v < 0 || v > max)
            throw new InvalidInputException($"{option} {spec}: '{value}' is not a number in [0, {(max == double.MaxValue ? "inf" : Tolerance.Fmt(max))}] (write {option} 1e-3 or {option} OUTPUT:1e-3)");
        if (tol && name is null) UserSetTolerances = true;
        if (name is null) setDefault(v);
        else setNamed(name, v);
    }

    private static (string? Name, string Value) Split(string spec)
    {
        int c = spec.LastIndexOf(':');
        return c < 0 ? (null, spec.Trim()) : (spec[..c], spec[(c + 1)..].Trim());
    }
}
