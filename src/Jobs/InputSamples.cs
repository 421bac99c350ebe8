using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;

namespace PolyNet.Jobs;

/// <summary>The inputs a job runs on: read from data files, or generated from a seed. Every job gets them here.</summary>
public static class InputSamples
{
    /// <summary>
    /// Every sample of every file, in order, checked against the model's inputs (names, types, shapes; bfloat16 data
    /// given as float32 conformed), each file logged. An empty file is an error naming it.
    /// </summary>
    public static List<ValueMap> Load(IReadOnlyList<string> paths, IReadOnlyList<ValueSpec> inputs, IJobLog log)
    {
        var all = new List<ValueMap>();
        foreach (var path in paths)
        {
            var loaded = DataFiles.Load(path, DataRole.Inputs, inputs);
            if (loaded.Samples.Count == 0) throw InvalidInputException.ForFile(path, "holds no samples");
            var notes = new List<string>();
            var conformed = loaded.Samples.Select(s => InputValidation.ConformBFloat16(inputs, s, notes)).ToList();
            foreach (var n in notes.Distinct()) log.Info($"inputs: {n}");
            for (int s = 0; s < conformed.Count; s++)
                InputValidation.CheckFeed(inputs, conformed[s], conformed.Count == 1 ? path : $"{path} (sample {s})");
            log.Info($"inputs: {loaded.Samples.Count} sample(s) from {path}{(loaded.ByPosition ? " (matched to the model's inputs by position)" : "")}");
            all.AddRange(conformed);
        }
        return all;
    }

    /// <summary>
    /// <paramref name="count"/> samples from <paramref name="seed"/>, after checking that the ranges and shapes name
    /// real inputs; the generator's warnings (a dynamic dimension taken as 1, ...) and what was made are logged.
    /// </summary>
    public static List<ValueMap> Generate(IReadOnlyList<ValueSpec> inputs, long seed, int count, ValueRanges ranges, InputShapes shapes, IJobLog log)
    {
        shapes.Validate(inputs);
        ranges.Validate(inputs.Select(i => i.Name));
        var gen = new InputGenerator(seed, ranges, shapes);
        var samples = Enumerable.Range(0, count).Select(s => gen.Generate(inputs, s)).ToList();
        foreach (var w in gen.Warnings) log.Warning(w);
        if (samples.Count > 0)
            log.Info($"inputs: {samples.Count} sample(s) generated with seed {seed}: {string.Join(", ", samples[0].Select(kv => $"{kv.Key} {kv.Value.Describe()}"))}");
        return samples;
    }

    /// <summary>The files' samples when any are given, else <paramref name="count"/> generated ones.</summary>
    public static List<ValueMap> LoadOrGenerate(IReadOnlyList<string> files, IReadOnlyList<ValueSpec> inputs, long seed, int count, ValueRanges ranges, InputShapes shapes, IJobLog log)
        => files.Count > 0 ? Load(files, inputs, log) : Generate(inputs, seed, count, ranges, shapes, log);
}
