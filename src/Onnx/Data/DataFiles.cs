using System.Globalization;

namespace PolyNet.Onnx.Data;

/// <summary>Samples loaded from a data file, and whether their names come from the file or from positions.</summary>
/// <param name="Samples">One ValueMap per sample (iteration), in order.</param>
/// <param name="ByPosition">True when values were matched to the model by position (backend .pb layout).</param>
public sealed record LoadedData(string Path, IReadOnlyList<ValueMap> Samples, bool ByPosition);

/// <summary>
/// Loads and saves input and output data in every format PolyNet reads, detected from the path:
/// .npz (one sample; keys "K/NAME" hold sample K of several), .npy (one array), .pb (one TensorProto),
/// Polygraphy's JSON (RunResults with one runner, or an input list), and folders in the ONNX backend test layout.
/// </summary>
public static class DataFiles
{
    public static LoadedData Load(string path, DataRole role, IReadOnlyList<ValueSpec>? expected = null)
    {
        if (Directory.Exists(path))
        {
            if (!BackendTestData.IsBackendLayout(path))
                throw InvalidInputException.ForFile(path, "folder holds neither test_data_set_N folders nor input_K.pb/output_K.pb files");
            return new LoadedData(path, BackendTestData.Load(path, role, expected), true);
        }
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, "no such file");
        var ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        switch (ext)
        {
            case ".npz":
                return new LoadedData(path, SplitSamples(Npz.Read(path)), false);
            case ".npy":
            {
                var t = Npy.ReadFile(path);
                var name = System.IO.Path.GetFileNameWithoutExtension(path);
                bool byPosition = expected is { Count: 1 } && expected[0].Name != name;
                var map = new ValueMap { { byPosition ? expected![0].Name : name, t } };
                return new LoadedData(path, [map], byPosition);
            }
            case ".json":
            {
                var runs = PolygraphyJson.Read(path);
                if (runs.Count != 1)
                    throw InvalidInputException.ForFile(path, $"holds the results of {runs.Count} runners ({string.Join(", ", runs.Select(r => r.Runner))}); use 'polynet compare' to compare them, or save one runner per file");
                return new LoadedData(path, runs[0].Iterations, false);
            }
            case ".pb":
            {
                var kind = expected is { Count: 1 } ? expected[0].Kind : ValueKind.Tensor;
                var (name, v) = BackendTestData.ReadValueFile(path, kind);
                var key = expected is { Count: 1 } ? expected[0].Name : (string.IsNullOrEmpty(name) ? System.IO.Path.GetFileNameWithoutExtension(path) : name);
                return new LoadedData(path, [new ValueMap { { key, v } }], expected is { Count: 1 });
            }
            default:
                throw InvalidInputException.ForFile(path, $"unknown data format '{ext}' (PolyNet reads .npz, .npy, .pb, Polygraphy .json and backend test folders)");
        }
    }

    /// <summary>Keys "0/x", "1/x" become samples 0 and 1; plain keys make one sample.</summary>
    private static IReadOnlyList<ValueMap> SplitSamples(ValueMap all)
    {
        var samples = new SortedDictionary<int, ValueMap>();
        foreach (var (key, v) in all)
        {
            int slash = key.IndexOf('/');
            if (slash <= 0 || !int.TryParse(key.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var k))
                return [all];
            if (!samples.TryGetValue(k, out var m)) samples[k] = m = new ValueMap();
            m.Add(key[(slash + 1)..], v);
        }
        return samples.Count == 0 ? [all] : samples.Values.ToList();
    }

    /// <summary>
    /// Saves samples to <paramref name="path"/>: .npz (several samples as "K/NAME" keys), or a folder in the
    /// backend layout (test_data_set_K/input_i.pb) when the path has no extension. Atomic per file.
    /// </summary>
    /// <summary>
    /// The runs a results file holds, each labelled: a Polygraphy RunResults file one per runner ("FILE:RUNNER"),
    /// any other format one (the file's name).
    /// </summary>
    public static IReadOnlyList<NamedRun> LoadRuns(string path)
    {
        if (Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase))
        {
            var runs = PolygraphyJson.Read(path);
            if (runs.Count == 0) throw InvalidInputException.ForFile(path, "holds no results");
            return runs.Select(r => new NamedRun(runs.Count == 1 && r.Runner == Path.GetFileNameWithoutExtension(path) ? Path.GetFileName(path) : $"{Path.GetFileName(path)}:{r.Runner}", r.Iterations)).ToList();
        }
        var loaded = Load(path, DataRole.Outputs);
        return [new NamedRun(Path.GetFileName(path.TrimEnd('/')), loaded.Samples)];
    }

    /// <summary>
    /// The runs of several files, loaded in parallel (each file's reader is itself parallel where it can be), in the
    /// order of <paramref name="paths"/>. A bad file is reported as it would be alone: the first bad one in that order.
    /// </summary>
    public static IReadOnlyList<NamedRun> LoadRuns(IReadOnlyList<string> paths)
    {
        if (paths.Count == 1) return LoadRuns(paths[0]);
        var tasks = paths.Select(p => Task.Run(() => LoadRuns(p))).ToArray();
        try { Task.WaitAll(tasks); }
        catch (AggregateException)
        {
            foreach (var t in tasks)
                if (t.IsFaulted) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(t.Exception!.InnerException!).Throw();
        }
        return tasks.SelectMany(t => t.Result).ToList();
    }

    public static void Save(string path, IReadOnlyList<ValueMap> samples, DataRole role, string runner = "polynet")
    {
        var ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".json")
        {
            if (role == DataRole.Inputs) PolygraphyJson.WriteInputList(path, samples);
            else PolygraphyJson.WriteRunResults(path, [new RunnerResults(runner, samples, samples.Select(_ => (double?)null).ToList())]);
            return;
        }
        if (ext == ".npz")
        {
            if (samples.Count == 1)
            {
                Npz.Write(path, samples[0]);
                return;
            }
            var all = new ValueMap();
            for (int k = 0; k < samples.Count; k++)
                foreach (var (name, v) in samples[k]) all.Add($"{k}/{name}", v);
            Npz.Write(path, all);
            return;
        }
        if (ext.Length == 0)
        {
            for (int k = 0; k < samples.Count; k++)
                BackendTestData.WriteSet(System.IO.Path.Combine(path, $"test_data_set_{k}"), role, samples[k]);
            return;
        }
        throw InvalidInputException.ForFile(path, $"cannot save data as '{ext}' (use .npz, .json for Polygraphy's format, or a folder name for the backend test layout)");
    }
}

/// <summary>One set of results read from a file: a label and one ValueMap per sample.</summary>
public sealed record NamedRun(string Label, IReadOnlyList<ValueMap> Samples);
