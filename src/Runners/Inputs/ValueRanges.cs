using System.Globalization;

namespace PolyNet.Runners.Inputs;

/// <summary>
/// Value ranges for generated inputs, --val-range <c>[lo,hi]</c> (every input) or <c>name:[lo,hi]</c> (one input).
/// Floating-point inputs are drawn uniformly from [lo, hi); integer inputs uniformly from the integers in [lo, hi];
/// bools are 0 or 1 with equal chance unless the range is [0,0] or [1,1]. Default [0, 1], as in Polygraphy.
/// </summary>
public sealed class ValueRanges
{
    private readonly Dictionary<string, (double Lo, double Hi)> _named = new(StringComparer.Ordinal);

    public (double Lo, double Hi) Default { get; private set; } = (0, 1);

    public IReadOnlyDictionary<string, (double Lo, double Hi)> Named => _named;

    public (double Lo, double Hi) For(string input) => _named.TryGetValue(input, out var r) ? r : Default;

    public static ValueRanges Parse(IEnumerable<string> specs)
    {
        var result = new ValueRanges();
        foreach (var spec in specs)
        {
            var s = spec.Trim();
            string? name = null;
            string range = s;
            int bracket = s.LastIndexOf('[');
            if (bracket > 0)
            {
                if (s[bracket - 1] != ':') throw Bad(spec);
                name = s[..(bracket - 1)];
                range = s[bracket..];
            }
            else if (bracket < 0)
            {
                // name:lo,hi without brackets
                int c = s.LastIndexOf(':');
                if (c > 0) { name = s[..c]; range = s[(c + 1)..]; }
            }
            range = range.Trim();
            if (range.StartsWith('[') && range.EndsWith(']')) range = range[1..^1];
            var parts = range.Split(',');
            if (parts.Length != 2
                || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var lo)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var hi)
                || double.IsNaN(lo) || double.IsNaN(hi))
                throw Bad(spec);
            if (lo > hi) throw new InvalidInputException($"--val-range {spec}: low {lo} is above high {hi}");
            if (name is null) result.Default = (lo, hi);
            else if (!result._named.TryAdd(name, (lo, hi))) throw new InvalidInputException($"--val-range: input '{name}' is given twice");
        }
        return result;
    }

    public void Validate(IEnumerable<string> inputNames)
    {
        var names = inputNames.ToList();
        foreach (var n in _named.Keys)
            if (!names.Contains(n))
                throw new InvalidInputException($"--val-range: the model has no input '{n}' (inputs: {string.Join(", ", names)})");
    }

    private static InvalidInputException Bad(string spec)
        => new($"--val-range {spec}: expected [LO,HI] or NAME:[LO,HI], e.g. --val-range input:[0,255]");
}
