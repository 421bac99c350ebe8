using System.Globalization;
using CompareOptions = PolyNet.Compare.CompareOptions;
using System.Text.RegularExpressions;
using PolyNet.Onnx.Transforms.Opsets;
using PolyNet.Runners.Inputs;
using PolyNet.Runners;
using PolyNet.Runners.Specs;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PolyNet.Jobs.Suite;

// The YAML shape of a suite file (README, "Regression suites"), read from YamlDotNet's node tree (no reflection, so
// trimmed builds read suites too). Keys are snake_case; unknown keys are errors naming the closest known key. Values
// that take one or several options (atol, runners, ...) are `object`: a string, a List<object> or a
// Dictionary<object, object>, so that a scalar, a list and, for per-output values, a mapping {OUTPUT: VALUE} are all
// accepted; Strings() normalizes them.

internal sealed record SuiteDto(string? Name, CaseDto? Defaults, List<CaseDto>? Cases, List<int> CaseLines);

internal sealed record CaseDto(string? Name = null, string? Model = null, object? Tags = null, object? Runners = null, InputsDto? Inputs = null, TolerancesDto? Tolerances = null, string? Golden = null, string? UpgradeOpset = null, LatencyDto? Latency = null);

internal sealed record LatencyDto(string? Runner, string? Baseline, string? MaxSlowdown, IReadOnlyDictionary<string, string> Budgets, string? Iterations, string? Rounds);

internal sealed record InputsDto(string? Seed = null, string? Samples = null, object? ValRange = null, object? InputShapes = null, object? Files = null);

internal sealed record TolerancesDto(object? Atol = null, object? Rtol = null, object? CheckErrorStat = null, string? ErrorQuantile = null, object? MaxMismatchPercent = null, string? TopK = null);

/// <summary>Builds the DTOs from nodes; a problem is a <see cref="YamlException"/> at the node's position.</summary>
internal static class SuiteYaml
{
    public static SuiteDto Read(YamlNode root)
    {
        var m = Keys(root, "the suite", "name", "defaults", "cases");
        var cases = m.GetValueOrDefault("cases");
        if (cases is not null and not YamlSequenceNode) throw Wrong(cases, "cases: expected a list of cases");
        var list = (cases as YamlSequenceNode)?.Children ?? [];
        var defaults = m.GetValueOrDefault("defaults") is { } d ? Named(d, "defaults") : null;
        return new SuiteDto(Scalar(m, "name"), defaults, list.Select((c, i) => Named(c, $"case {CaseName(c) ?? (i + 1).ToString(CultureInfo.InvariantCulture)}")).ToList(), list.Select(c => (int)c.Start.Line).ToList());
    }

    /// <summary>A case, its problems prefixed with which case it is (at the position of the problem itself).</summary>
    private static CaseDto Named(YamlNode node, string what)
    {
        try { return Case(node); }
        catch (YamlException e) { throw new YamlException(e.Start, e.End, $"{what}: {e.Message}"); }
    }

    private static string? CaseName(YamlNode node) => node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("name"), out var n) && n is YamlScalarNode { Value: { } v } ? $"'{v}'" : null;

    private static CaseDto Case(YamlNode node)
    {
        var m = Keys(node, "a case", "name", "model", "tags", "runners", "inputs", "tolerances", "golden", "upgrade_opset", "latency");
        return new CaseDto(Scalar(m, "name"), Scalar(m, "model"), Value(m, "tags"), Value(m, "runners"),
            m.GetValueOrDefault("inputs") is { } i ? Inputs(i) : null, m.GetValueOrDefault("tolerances") is { } t ? Tolerances(t) : null, Scalar(m, "golden"), Scalar(m, "upgrade_opset"),
            m.GetValueOrDefault("latency") is { } l ? Latency(l) : null);
    }

    private static LatencyDto Latency(YamlNode node)
    {
        var m = Keys(node, "latency", "runner", "baseline", "max_slowdown", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "iterations", "rounds");
        var budgets = LatencyBudget.Percentiles.Where(p => m.ContainsKey(p + "_ms")).ToDictionary(p => p, p => Scalar(m, p + "_ms") ?? "");
        return new LatencyDto(Scalar(m, "runner"), Scalar(m, "baseline"), Scalar(m, "max_slowdown"), budgets, Scalar(m, "iterations"), Scalar(m, "rounds"));
    }

    private static InputsDto Inputs(YamlNode node)
    {
        var m = Keys(node, "inputs", "seed", "samples", "val_range", "input_shapes", "files");
        return new InputsDto(Scalar(m, "seed"), Scalar(m, "samples"), Value(m, "val_range"), Value(m, "input_shapes"), Value(m, "files"));
    }

    private static TolerancesDto Tolerances(YamlNode node)
    {
        var m = Keys(node, "tolerances", "atol", "rtol", "check_error_stat", "error_quantile", "max_mismatch_percent", "top_k");
        return new TolerancesDto(Value(m, "atol"), Value(m, "rtol"), Value(m, "check_error_stat"), Scalar(m, "error_quantile"), Value(m, "max_mismatch_percent"), Scalar(m, "top_k"));
    }

    /// <summary>The mapping's entries by key; a key not in <paramref name="known"/> is an error naming the closest.</summary>
    private static Dictionary<string, YamlNode> Keys(YamlNode node, string what, params string[] known)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" }) return [];
        if (node is not YamlMappingNode map) throw Wrong(node, $"{what}: expected a mapping of keys ({string.Join(", ", known)})");
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? throw Wrong(k, $"{what}: a key must be a plain word");
            if (!known.Contains(key))
                throw Wrong(k, $"unknown key '{key}'{(Names.Closest(key, known) is { } c ? $"; did you mean '{c}'?" : "")} (known here: {string.Join(", ", known)})");
            if (!result.TryAdd(key, v)) throw Wrong(k, $"key '{key}' is given twice");
        }
        return result;
    }

    private static string? Scalar(Dictionary<string, YamlNode> m, string key) => m.GetValueOrDefault(key) switch
    {
        null => null,
        YamlScalarNode s => Null(s) ? null : s.Value,
        var other => throw Wrong(other, $"{key}: expected one value, found a {(other is YamlSequenceNode ? "list" : "mapping")}"),
    };

    private static object? Value(Dictionary<string, YamlNode> m, string key) => m.GetValueOrDefault(key) is { } n ? Plain(n, key) : null;

    private static object? Plain(YamlNode n, string key) => n switch
    {
        YamlScalarNode s => Null(s) ? null : s.Value,
        YamlSequenceNode q => q.Children.Select(c => c is YamlScalarNode ? Plain(c, key) : throw Wrong(c, $"{key}: expected a value or a list of values, found a nested structure")).ToList(),
        YamlMappingNode map => map.Children.ToDictionary(kv => (object)((kv.Key as YamlScalarNode)?.Value ?? ""),
            kv => kv.Value is YamlScalarNode v ? (object)(v.Value ?? "") : throw Wrong(kv.Value, $"{key}: expected OUTPUT: VALUE pairs")),
        _ => throw Wrong(n, $"{key}: unexpected value"),
    };

    private static bool Null(YamlScalarNode s) => s.Style == YamlDotNet.Core.ScalarStyle.Plain && s.Value is null or "" or "~" or "null";

    private static YamlException Wrong(YamlNode node, string message) => new(node.Start, node.End, message);
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
    /// <summary>The opset the model is upgraded to before it runs (`upgrade_opset:`), or null.</summary>
    public long? UpgradeOpset { get; init; }
    /// <summary>The case's latency check (`latency:`), or null.</summary>
    public LatencyBudget? Latency { get; init; }
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
    /// <summary>The deepest nesting a suite may have: far beyond any real suite (4 levels), far below what would
    /// exhaust the stack of YamlDotNet's recursive node tree.</summary>
    public const int MaxYamlDepth = 64;

    /// <summary>Walks the YAML's events (an iterative parser) and refuses nesting beyond <see cref="MaxYamlDepth"/> before the tree is built.</summary>
    private static void CheckDepth(string text, string path)
    {
        var parser = new Parser(new StringReader(text));
        int depth = 0;
        Mark last = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                last = parser.Current!.End;
                switch (parser.Current)
                {
                    case YamlDotNet.Core.Events.SequenceStart or YamlDotNet.Core.Events.MappingStart:
                        if (++depth > MaxYamlDepth)
                            throw InvalidInputException.ForFile($"{path}:{parser.Current.Start.Line}", $"nested more than {MaxYamlDepth} levels deep");
                        break;
                    case YamlDotNet.Core.Events.SequenceEnd or YamlDotNet.Core.Events.MappingEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's parser loses its state on some broken flow collections ("- name: [a" then a mapping key)
            // instead of raising a YamlException: the position is where the last well-formed part ended.
            throw InvalidInputException.ForFile($"{path}:{last.Line}", $"not valid YAML after line {last.Line}, column {last.Column} (an unclosed '[' or '{{'?)");
        }
    }

    public static SuiteFile Load(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, Directory.Exists(path) ? "is a folder, not a suite file" : "no such file");
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw InvalidInputException.ForFile(path, e.Message); }
        catch (UnauthorizedAccessException) { throw InvalidInputException.ForFile(path, "permission denied"); }

        SuiteDto? dto = null;
        try
        {
            CheckDepth(text, path);
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count > 0) dto = SuiteYaml.Read(stream.Documents[0].RootNode);
        }
        catch (YamlException e)
        {
            throw InvalidInputException.ForFile($"{path}:{e.Start.Line}", Describe(e));
        }
#pragma warning disable CA1031 // the boundary of a third-party parser: whatever it throws on bad text is bad input
        catch (Exception e) when (e is not PolyNetException and not OutOfMemoryException)
#pragma warning restore CA1031
        {
            throw InvalidInputException.ForFile(path, $"not a readable suite (YAML: {e.Message.Split('\n')[0]})");
        }
        var caseLines = dto?.CaseLines ?? [];
        if (dto?.Cases is not { Count: > 0 })
            throw InvalidInputException.ForFile(path, "has no cases (write a 'cases:' list; see README, \"Regression suites\")");

        var d = dto.Defaults ?? new CaseDto();
        var cases = new List<SuiteCase>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < dto.Cases.Count; i++)
        {
            var c = dto.Cases[i];
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
                ContainedPaths.CheckLinksStayInside(dir, modelPath, where, "model");

                var runners = Strings("runners", c.Runners ?? d.Runners) is { Count: > 0 } r ? r.Select(RunnerSpec.Parse).ToList() : [RunnerRegistry.Reference()];
                foreach (var spec in runners) RunnerRegistry.Check(spec);
                RunnerSpec.MakeNamesUnique(runners);

                InputsDto ci = c.Inputs ?? new(), di = d.Inputs ?? new();
                long seed = Integer("inputs.seed", ci.Seed ?? di.Seed, 1, long.MinValue);
                int samples = (int)Integer("inputs.samples", ci.Samples ?? di.Samples, 1, 1, 100_000);
                var files = Strings("inputs.files", ci.Files ?? di.Files).Select(f => System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, f))).ToList();
                foreach (var f in files)
                {
                    if (!File.Exists(f) && !Directory.Exists(f)) throw Bad($"input file {f} does not exist");
                    ContainedPaths.CheckLinksStayInside(dir, f, where, "input file");
                }
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
                ContainedPaths.CheckLinksStayInside(dir, goldenPath, where, "golden");
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
                    UpgradeOpset = (c.UpgradeOpset ?? d.UpgradeOpset) is { } up ? Integer("upgrade_opset", up, 0, OpsetUpgrade.MinTarget, OpsetUpgrade.MaxTarget) : null,
                    Latency = (c.Latency ?? d.Latency) is { } lat ? Budget(lat, runners) : null,
                });
            }
            catch (InvalidInputException e) when (!e.Message.StartsWith(where, StringComparison.Ordinal))
            {
                throw Bad(e.Message);
            }
        }
        // A golden file is written by --update-golden: none may be what a case reads (its own or another's model or
        // inputs), compared where the paths really lead.
        var read = cases.SelectMany(c => c.InputFiles.Append(c.Model)).Select(f => ContainedPaths.RealPath(f, path)).ToHashSet(StringComparer.Ordinal);
        foreach (var c in cases)
            foreach (var written in new[] { c.Golden, LatencyBudget.BaselinePath(c.Golden) })
                if (read.Contains(ContainedPaths.RealPath(written, path)))
                    throw InvalidInputException.ForFile($"{path}:{c.Line}", $"case '{c.Name}': golden file {System.IO.Path.GetRelativePath(dir, written)} is also read as a model or inputs by a case; --update-golden would overwrite it");
        var suiteName = dto.Name ?? System.IO.Path.GetFileName(path).Split('.')[0];
        return new SuiteFile { Path = System.IO.Path.GetFullPath(path), GivenPath = path, Name = suiteName, Cases = cases };
    }

    /// <summary>A case's `latency:`, checked: the runner is one of the case's, numbers are numbers, and it checks something.</summary>
    private static LatencyBudget Budget(LatencyDto l, IReadOnlyList<RunnerSpec> runners)
    {
        var runner = l.Runner is null ? runners[0] : runners.FirstOrDefault(r => r.Name == l.Runner || r.Text == l.Runner)
            ?? throw new InvalidInputException($"latency.runner '{l.Runner}' is not one of the case's runners ({string.Join(", ", runners.Select(r => r.Name))})");
        bool baseline = l.Baseline switch
        {
            null or "false" or "no" => false,
            "true" or "yes" => true,
            var b => throw new InvalidInputException($"latency.baseline '{b}' must be true or false"),
        };
        double Ms(string key, string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v)
            ? v : throw new InvalidInputException($"latency.{key}_ms '{text}' must be a positive number of milliseconds");
        var budgets = l.Budgets.ToDictionary(kv => kv.Key, kv => Ms(kv.Key, kv.Value));
        if (!baseline && budgets.Count == 0)
            throw new InvalidInputException("latency: checks nothing; give baseline: true and/or a budget such as p99_ms: 5");
        double slowdown = 0.05;
        if (l.MaxSlowdown is { } ms)
        {
            slowdown = Bench.Baseline.ParseSlowdown("latency.max_slowdown", ms);
            if (!baseline) throw new InvalidInputException("latency.max_slowdown applies to baseline: true; without it it changes nothing");
        }
        return new LatencyBudget
        {
            Runner = runner, Baseline = baseline, MaxSlowdown = slowdown, Budgets = budgets,
            Iterations = (int)Integer("latency.iterations", l.Iterations, 100, 1, 1_000_000), Rounds = (int)Integer("latency.rounds", l.Rounds, 5, 1, 1000),
        };
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
            throw new InvalidInputException($"{key} '{text}' must be a whole number{(min > long.MinValue ? $" of at least {min}" : "")}{(max < long.MaxValue ? $" and at most {max}" : "")}");
        return v;
    }

    /// <summary>One line for a YAML error: PolyNet's own message, or the parser's without its position (the file and line say it).</summary>
    private static string Describe(YamlException e)
    {
        var message = (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ").Trim();
        return Regex.Replace(message, "^\\(Line: [^)]*\\): ", "");
    }
}
