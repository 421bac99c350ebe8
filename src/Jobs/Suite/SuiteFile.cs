using System.Globalization;
using CompareOptions = PolyNet.Compare.CompareOptions;
using System.Reflection;
using System.Text.RegularExpressions;
using PolyNet.Runners.Inputs;
using PolyNet.Runners;
using PolyNet.Runners.Specs;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace PolyNet.Jobs.Suite;

// The YAML shape of a suite file (README, "Regression suites"). Keys are snake_case; unknown keys are errors.
// Values that take one or several options (atol, runners, ...) are `object` so that a scalar, a list and, for
// per-output values, a mapping {OUTPUT: VALUE} are all accepted; Strings() normalizes them.

internal sealed class SuiteDto
{
    public string? Name { get; set; }
    public CaseDto? Defaults { get; set; }
    public List<CaseDto>? Cases { get; set; }
}

internal sealed class CaseDto
{
    public string? Name { get; set; }
    public string? Model { get; set; }
    public object? Tags { get; set; }
    public object? Runners { get; set; }
    public InputsDto? Inputs { get; set; }
    public TolerancesDto? Tolerances { get; set; }
    public string? Golden { get; set; }
}

internal sealed class InputsDto
{
    public string? Seed { get; set; }
    public string? Samples { get; set; }
    public object? ValRange { get; set; }
    public object? InputShapes { get; set; }
    public object? Files { get; set; }
}

internal sealed class TolerancesDto
{
    public object? Atol { get; set; }
    public object? Rtol { get; set; }
    public object? CheckErrorStat { get; set; }
    public string? ErrorQuantile { get; set; }
    public object? MaxMismatchPercent { get; set; }
    public string? TopK { get; set; }
}

/// <summary>One case, resolved: paths absolute, options parsed and checked.</summary>
public sealed class SuiteCase
{
    public required string Name { get; init; }
    /// <summary>Line of the case in the suite file (1-based), for messages.</summary>
    public int Line { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }
    public required IReadOnlyList<RunnerSpec> Runners { get; init; }
    public long Seed { get; init; } = 1;
    public int Samples { get; init; } = 1;
    public required ValueRanges ValueRanges { get; init; }
    public required InputShapes InputShapes { get; init; }
    /// <summary>Input files; each contributes its samples, in order. Empty: inputs are generated from the seed.</summary>
    public IReadOnlyList<string> InputFiles { get; init; } = [];
    public required ToleranceSet Tolerances { get; init; }
    public required CompareOptions Options { get; init; }
    /// <summary>The golden outputs (.npz), absolute.</summary>
    public required string Golden { get; init; }
}

/// <summary>A suite file, loaded and checked.</summary>
public sealed class SuiteFile
{
    /// <summary>Absolute path.</summary>
    public required string Path { get; init; }
    /// <summary>The path as the user gave it (for commands PolyNet suggests).</summary>
    public required string GivenPath { get; init; }
    public required string Name { get; init; }
    public required IReadOnlyList<SuiteCase> Cases { get; init; }

    /// <summary>
    /// Loads <paramref name="path"/>. Every problem (YAML syntax, an unknown key, a missing model or input file, a bad
    /// runner spec, tolerance or range, duplicate case names) is an <see cref="InvalidInputException"/> of one line
    /// naming the file and the line. A case's keys override the suite's <c>defaults</c> key by key.
    /// </summary>
    public static SuiteFile Load(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, Directory.Exists(path) ? "is a folder, not a suite file" : "no such file");
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw InvalidInputException.ForFile(path, e.Message); }
        catch (UnauthorizedAccessException) { throw InvalidInputException.ForFile(path, "permission denied"); }

        SuiteDto? dto;
        var caseLines = new List<int>();
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root
                && root.Children.TryGetValue(new YamlScalarNode("cases"), out var casesNode) && casesNode is YamlSequenceNode seq)
                caseLines.AddRange(seq.Children.Select(c => (int)c.Start.Line));
            dto = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<SuiteDto>(text);
        }
        catch (YamlException e)
        {
            throw InvalidInputException.ForFile($"{path}:{e.Start.Line}", Describe(e));
        }
        if (dto?.Cases is not { Count: > 0 })
            throw InvalidInputException.ForFile(path, "has no cases (write a 'cases:' list; see README, \"Regression suites\")");

        var d = dto.Defaults ?? new CaseDto();
        var cases = new List<SuiteCase>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < dto.Cases.Count; i++)
        {
            var c = dto.Cases[i] ?? new CaseDto();
            int line = i < caseLines.Count ? caseLines[i] : 0;
            var where = $"{path}:{line}";
            InvalidInputException Bad(string problem) => InvalidInputException.ForFile(where, $"case {(c.Name is null ? (i + 1).ToString(CultureInfo.InvariantCulture) : $"'{c.Name}'")}: {problem}");
            try
            {
                if (string.IsNullOrWhiteSpace(c.Name)) throw Bad("has no name");
                if (!Regex.IsMatch(c.Name, "^[A-Za-z0-9_.-]+$")) throw Bad("names may hold letters, digits, '_', '.' and '-' only (they name golden files)");
                if (!names.Add(c.Name)) throw Bad("the name is used by an earlier case");
                var model = c.Model ?? d.Model ?? throw Bad("has no model");
                var modelPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, model));
                if (!File.Exists(modelPath)) throw Bad($"model {model} does not exist (paths are relative to the suite file)");

                var runners = Strings("runners", c.Runners ?? d.Runners) is { Count: > 0 } r ? r.Select(RunnerSpec.Parse).ToList() : [RunnerRegistry.Reference()];
                foreach (var spec in runners) RunnerRegistry.Check(spec);
                RunnerSpec.MakeNamesUnique(runners);

                InputsDto ci = c.Inputs ?? new(), di = d.Inputs ?? new();
                long seed = Integer("inputs.seed", ci.Seed ?? di.Seed, 1, long.MinValue);
                int samples = (int)Integer("inputs.samples", ci.Samples ?? di.Samples, 1, 1, 100_000);
                var files = Strings("inputs.files", ci.Files ?? di.Files).Select(f => System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, f))).ToList();
                foreach (var f in files)
                    if (!File.Exists(f) && !Directory.Exists(f)) throw Bad($"input file {f} does not exist");
                if (files.Count > 0 && (ci.Samples ?? di.Samples) is not null) throw Bad("inputs.samples applies to generated inputs; with inputs.files the samples are the files'");

                TolerancesDto ct = c.Tolerances ?? new(), dt = d.Tolerances ?? new();
                var set = new ToleranceSet();
                foreach (var v in Strings("tolerances.atol", ct.Atol ?? dt.Atol)) set.AddAtol(v);
                foreach (var v in Strings("tolerances.rtol", ct.Rtol ?? dt.Rtol)) set.AddRtol(v);
                foreach (var v in Strings("tolerances.check_error_stat", ct.CheckErrorStat ?? dt.CheckErrorStat)) set.AddStat(v);
                foreach (var v in Strings("tolerances.max_mismatch_percent", ct.MaxMismatchPercent ?? dt.MaxMismatchPercent)) set.AddMaxMismatchPercent(v);
                if ((ct.ErrorQuantile ?? dt.ErrorQuantile) is { } qs)
                {
                    if (!double.TryParse(qs, NumberStyles.Float, CultureInfo.InvariantCulture, out var q) || !(q > 0 && q <= 1))
                        throw new InvalidInputException($"tolerances.error_quantile '{qs}' must be a number in (0, 1]");
                    set.Quantile = q;
                }
                int? topK = (ct.TopK ?? dt.TopK) is null ? null : (int)Integer("tolerances.top_k", ct.TopK ?? dt.TopK, 0, 1, 1_000_000);

                var golden = c.Golden ?? System.IO.Path.Combine("golden", c.Name + ".npz");
                if (!golden.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) throw Bad($"golden {golden}: golden outputs are .npz files");
                var goldenPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, golden));
                if (cases.FirstOrDefault(x => x.Golden == goldenPath) is { } other) throw Bad($"golden {golden} is case '{other.Name}''s golden file too");
                cases.Add(new SuiteCase
                {
                    Name = c.Name,
                    Line = line,
                    Model = modelPath,
                    Tags = Strings("tags", c.Tags ?? d.Tags),
                    Runners = runners,
                    Seed = seed,
                    Samples = samples,
                    ValueRanges = ValueRanges.Parse(Strings("inputs.val_range", ci.ValRange ?? di.ValRange)),
                    InputShapes = InputShapes.Parse(Strings("inputs.input_shapes", ci.InputShapes ?? di.InputShapes)),
                    InputFiles = files,
                    Tolerances = set,
                    Options = new CompareOptions { TopK = topK },
                    Golden = goldenPath,
                });
            }
            catch (InvalidInputException e) when (!e.Message.StartsWith(where, StringComparison.Ordinal))
            {
                throw Bad(e.Message);
            }
        }
        var suiteName = dto.Name ?? System.IO.Path.GetFileName(path).Split('.')[0];
        return new SuiteFile { Path = System.IO.Path.GetFullPath(path), GivenPath = path, Name = suiteName, Cases = cases };
    }

    /// <summary>A scalar, a list of scalars, or a mapping {OUTPUT: VALUE} (VALUE for the key "default" is the default).</summary>
    private static List<string> Strings(string key, object? value) => value switch
    {
        null => [],
        string s => [s],
        List<object> list => list.Select(v => v as string ?? throw new InvalidInputException($"{key}: expected a value or a list of values, found a nested {(v is null ? "empty item" : "structure")}")).ToList(),
        Dictionary<object, object> map => map.Select(kv => (kv.Key as string, kv.Value as string) is (string k, string v)
            ? (k == "default" ? v : $"{k}:{v}")
            : throw new InvalidInputException($"{key}: expected OUTPUT: VALUE pairs")).ToList(),
        _ => throw new InvalidInputException($"{key}: unexpected value"),
    };

    private static long Integer(string key, string? text, long fallback, long min, long max = long.MaxValue)
    {
        if (text is null) return fallback;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new InvalidInputException($"{key} '{text}' must be a whole number{(min > long.MinValue ? $" of at least {min}" : "")}");
        return v;
    }

    /// <summary>One line for a YAML error: an unknown key with the closest known one, or the parser's message.</summary>
    private static string Describe(YamlException e)
    {
        var message = (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ").Trim();
        var unknown = Regex.Match(message, "Property '([^']*)' not found on type '([^']*)'");
        if (unknown.Success)
        {
            var type = typeof(SuiteDto).Assembly.GetType(unknown.Groups[2].Value);
            var known = type?.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => UnderscoredNamingConvention.Instance.Apply(p.Name)).ToList() ?? [];
            var key = unknown.Groups[1].Value;
            var hint = PolyNet.Onnx.Names.Closest(key, known) is { } closest ? $"; did you mean '{closest}'?" : "";
            return $"unknown key '{key}'{hint} (known here: {string.Join(", ", known)})";
        }
        if (Regex.IsMatch(message, "^\\(Line: \\d+"))
            message = Regex.Replace(message, "^\\(Line: [^)]*\\): ", "");
        return message.StartsWith("Exception during deserialization", StringComparison.Ordinal)
            ? "a value has the wrong form (a list where one value belongs, or a mapping where a list belongs)"
            : message;
    }
}
