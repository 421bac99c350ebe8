namespace PolyNet.Runners.Specs;

/// <summary>
/// One runner configuration from the command line: <c>KIND[:key=value,...]</c>, for example
/// <c>onnxrt:opt=disable,intra=1</c> or <c>cuda:tf32=0</c>. Keys may repeat (trt's min_shapes, for instance);
/// order is kept. Which keys a kind accepts is the runner's business (<see cref="RunnerKeys"/>).
/// </summary>
public sealed class RunnerSpec
{
    private RunnerSpec(string text, string kind, IReadOnlyList<KeyValuePair<string, string>> options, string name)
    {
        Text = text;
        Kind = kind;
        Options = options;
        Name = name;
    }

    /// <summary>The spec as written.</summary>
    public string Text { get; }
    public string Kind { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Options { get; }
    /// <summary>The label used in reports: the name= option if given, else the spec text.</summary>
    public string Name { get; private set; }

    public static RunnerSpec Parse(string text)
    {
        var t = text.Trim();
        if (t.Length == 0) throw new InvalidInputException("--runner: empty runner spec (write KIND[:key=value,...], e.g. onnxrt or cuda:tf32=0)");
        int colon = t.IndexOf(':');
        var kind = (colon < 0 ? t : t[..colon]).Trim().ToLowerInvariant();
        var options = new List<KeyValuePair<string, string>>();
        string? name = null;
        if (colon >= 0)
        {
            var rest = t[(colon + 1)..];
            if (rest.Trim().Length == 0) throw new InvalidInputException($"--runner {text}: nothing after ':' (write {kind}:key=value,...)");
            foreach (var part in rest.Split(','))
            {
                int eq = part.IndexOf('=');
                if (eq <= 0) throw new InvalidInputException($"--runner {text}: '{part}' is not key=value{Hint(part.Trim())}");
                var key = part[..eq].Trim();
                var value = part[(eq + 1)..].Trim();
                if (key == "name") name = value;
                else options.Add(new(key, value));
            }
        }
        return new RunnerSpec(t, kind, options, name ?? t);
    }

    /// <summary>A bare word that is a known value of a key: the key=value it most likely means.</summary>
    private static string Hint(string word) => word.ToLowerInvariant() switch
    {
        "fp16" or "float16" or "half" => " (did you mean precision=fp16?)",
        "int8" => " (did you mean precision=int8,calib=CACHE?)",
        "fp32" or "float32" => " (did you mean precision=fp32?)",
        "tf32" => " (did you mean tf32=1?)",
        _ => " (write key=value; `polynet runners` lists each kind's keys)",
    };

    /// <summary>Gives duplicate names a "#2", "#3" suffix so every configuration in a run has its own label.</summary>
    public static void MakeNamesUnique(IReadOnlyList<RunnerSpec> specs)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in specs)
        {
            if (seen.TryGetValue(s.Name, out var n))
            {
                seen[s.Name] = n + 1;
                s.Name = $"{s.Name}#{n + 1}";
            }
            else seen[s.Name] = 1;
        }
    }

    public override string ToString() => Name;
}

/// <summary>A key a runner kind accepts, with its meaning, for validation and for `polynet runners`.</summary>
public sealed record RunnerKey(string Key, string Values, string Description);

/// <summary>Reads a spec's options against the keys a kind accepts; unknown keys and bad values are errors naming the spec.</summary>
public sealed class RunnerKeys
{
    private readonly RunnerSpec _spec;
    private readonly IReadOnlyList<RunnerKey> _accepted;

    public RunnerKeys(RunnerSpec spec, IReadOnlyList<RunnerKey> accepted)
    {
        _spec = spec;
        _accepted = accepted;
        foreach (var (k, _) in spec.Options)
        {
            if (!accepted.Any(a => a.Key == k || (a.Key.EndsWith('*') && k.StartsWith(a.Key[..^1], StringComparison.Ordinal))))
                throw new InvalidInputException($"--runner {spec.Text}: unknown key '{k}' for {spec.Kind} (keys: {string.Join(", ", accepted.Select(a => a.Key))}, name)");
            // "config." alone names no entry: ONNX Runtime would refuse it only when the session is made (exit 3).
            if (accepted.FirstOrDefault(a => a.Key.EndsWith('*') && a.Key[..^1] == k) is { } family)
                throw new InvalidInputException($"--runner {spec.Text}: key '{k}' needs a name after the dot ({family.Key}: {family.Description})");
        }
    }

    public string? Get(string key) => _spec.Options.LastOrDefault(p => p.Key == key).Value;

    public IEnumerable<string> GetAll(string key) => _spec.Options.Where(p => p.Key == key).Select(p => p.Value);

    /// <summary>Options whose key starts with <paramref name="prefix"/> (prefix removed), e.g. config.* and ep.*.</summary>
    public IEnumerable<KeyValuePair<string, string>> WithPrefix(string prefix)
        => _spec.Options.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(p => new KeyValuePair<string, string>(p.Key[prefix.Length..], p.Value));

    public bool? GetBool(string key)
    {
        var v = Get(key);
        return v switch
        {
            null => null,
            "1" or "true" or "on" or "yes" => true,
            "0" or "false" or "off" or "no" => false,
            _ => throw Bad(key, v, "0 or 1"),
        };
    }

    public int? GetInt(string key, int min = int.MinValue)
    {
        var v = Get(key);
        if (v is null) return null;
        if (!int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i) || i < min)
            throw Bad(key, v, min == int.MinValue ? "an integer" : $"an integer ≥ {min}");
        return i;
    }

    /// <summary>A byte size: 1073741824, 1G, 512M, 64K.</summary>
    public long? GetBytes(string key)
    {
        var v = Get(key);
        if (v is null) return null;
        return Onnx.ByteSize.TryParse(v, out var bytes) ? bytes : throw Bad(key, v, "a size such as 1073741824, 4G or 512M");
    }

    public string? GetChoice(string key, params string[] choices)
    {
        var v = Get(key);
        if (v is null) return null;
        var lower = v.ToLowerInvariant();
        return choices.Contains(lower) ? lower : throw Bad(key, v, string.Join("|", choices));
    }

    public InvalidInputException Bad(string key, string value, string expected)
        => new($"--runner {_spec.Text}: {key}={value} is not valid (expected {expected})");
}
