using System.Globalization;
using System.Text.RegularExpressions;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Data;

/// <summary>Which side of a model a data file holds.</summary>
public enum DataRole
{
    Inputs,
    Outputs,
}

/// <summary>
/// The ONNX backend test layout: a test folder holds model.onnx and test_data_set_N folders, each with
/// input_K.pb and output_K.pb files (TensorProto, or SequenceProto/OptionalProto for such values), matched to
/// the model's inputs and outputs by position K.
/// </summary>
public static partial class BackendTestData
{
    [GeneratedRegex(@"^test_data_set_(\d+)$")]
    private static partial Regex DataSetName();

    [GeneratedRegex(@"^(input|output)_(\d+)\.pb$")]
    private static partial Regex PbName();

    /// <summary>True when <paramref name="dir"/> is a test folder (has test_data_set_N) or one data set (has input_K.pb/output_K.pb).</summary>
    public static bool IsBackendLayout(string dir)
        => Directory.Exists(dir) && (DataSets(dir).Count > 0 || Directory.EnumerateFiles(dir, "*.pb").Any(f => PbName().IsMatch(Path.GetFileName(f))));

    /// <summary>The test_data_set_N folders of a test folder, in N order.</summary>
    public static IReadOnlyList<string> DataSets(string dir)
        => Directory.EnumerateDirectories(dir)
            .Select(d => (d, m: DataSetName().Match(Path.GetFileName(d))))
            .Where(x => x.m.Success)
            // Numbers past any count order after the rest, by their digits (no overflow).
            .OrderBy(x => x.m.Groups[1].Value.TrimStart('0').Length).ThenBy(x => x.m.Groups[1].Value.TrimStart('0'), StringComparer.Ordinal)
            .Select(x => x.d).ToList();

    /// <summary>
    /// Loads every sample under <paramref name="dir"/> (a test folder: one sample per data set; a data set folder: one).
    /// Values are named after <paramref name="expected"/> by position when given, else after the proto's name.
    /// </summary>
    public static IReadOnlyList<ValueMap> Load(string dir, DataRole role, IReadOnlyList<ValueSpec>? expected)
    {
        var sets = DataSets(dir);
        if (sets.Count == 0) sets = [dir];
        return sets.Select(s => LoadSet(s, role, expected, root: dir)).ToList();
    }

    /// <summary>One data set; its files must lie in <paramref name="root"/> (the folder named; default: the set's own) even through links.</summary>
    public static ValueMap LoadSet(string dir, DataRole role, IReadOnlyList<ValueSpec>? expected, string? root = null)
    {
        var prefix = role == DataRole.Inputs ? "input" : "output";
        var files = Directory.EnumerateFiles(dir, prefix + "_*.pb")
            .Select(f => (f, m: PbName().Match(Path.GetFileName(f))))
            .Where(x => x.m.Success)
            .Select(x => (x.f, k: int.TryParse(x.m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k
                : throw InvalidInputException.ForFile(x.f, $"the position {x.m.Groups[2].Value} in the file name is beyond any model's {prefix}s")))
            .OrderBy(x => x.k).ToList();
        for (int i = 0; i < files.Count; i++)
            if (files[i].k != i)
                throw InvalidInputException.ForFile(dir, $"{prefix}_{i}.pb is missing (found {Path.GetFileName(files[i].f)})");
        // An empty data set is a save that was interrupted (or never made), not a sample with nothing in it: reading it as
        // one would let a comparison pass on no outputs at all.
        if (files.Count == 0 && (role == DataRole.Outputs || expected is { Count: > 0 }))
            throw InvalidInputException.ForFile(dir, $"holds no {prefix}_K.pb files (an interrupted save?)");
        if (expected is not null && files.Count > expected.Count)
            throw InvalidInputException.ForFile(dir, $"holds {files.Count} {prefix} files but the model has {expected.Count} {prefix}s");
        var result = new ValueMap();
        foreach (var (f, _) in files) ContainedPaths.CheckLinksStayInside(root ?? dir, f, f, "data file");
        for (int k = 0; k < files.Count; k++)
        {
            var spec = expected is not null && k < expected.Count ? expected[k] : null;
            var (name, value) = ReadValueFile(files[k].f, spec?.Kind ?? ValueKind.Tensor);
            var key = spec?.Name ?? (string.IsNullOrEmpty(name) ? $"{prefix}_{k}" : name);
            if (result.ContainsKey(key))
                throw InvalidInputException.ForFile(files[k].f, $"names its value '{key}', as an earlier {prefix} file of {Path.GetFileName(dir)} does");
            result.Add(key, value);
        }
        return result;
    }

    /// <summary>Reads one .pb value file as the given kind: TensorProto, SequenceProto or OptionalProto.</summary>
    public static (string Name, OnnxValue Value) ReadValueFile(string path, ValueKind kind)
    {
        try
        {
            switch (kind)
            {
                case ValueKind.Sequence:
                    var seq = SequenceProto.Parser.ParseFrom(TensorProtos.ReadFileBytes(path));
                    return (seq.Name, FromSequence(seq, path));
                case ValueKind.Optional:
                    var opt = OptionalProto.Parser.ParseFrom(TensorProtos.ReadFileBytes(path));
                    return (opt.Name, FromOptional(opt, path));
                default:
                    var t = TensorProtos.ReadTensorProtoFile(path);
                    return (t.Name, TensorProtos.ToTensorData(t, path, wrapRawData: true));
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw InvalidInputException.ForFile(path, $"not a valid {kind} protobuf file ({TensorProtos.Describe(e)})");
        }
    }

    private static SequenceData FromSequence(SequenceProto seq, string path)
    {
        if (seq.ElemType != (int)SequenceProto.Types.DataType.Tensor && seq.TensorValues.Count == 0 && seq.ElemType != 0)
            throw InvalidInputException.ForFile(path, $"sequence of element kind {seq.ElemType} is not supported (only sequences of tensors)");
        var items = seq.TensorValues.Select(t => TensorProtos.ToTensorData(t, path)).ToList();
        var type = items.Count > 0 ? items[0].ElementType : ElementType.Float;
        if (items.FirstOrDefault(t => t.ElementType != type) is { } other)
            throw InvalidInputException.ForFile(path, $"sequence '{seq.Name}' mixes {type.DisplayName()} and {other.ElementType.DisplayName()} tensors; an ONNX sequence holds one element type");
        return new SequenceData(type, items);
    }

    private static OptionalData FromOptional(OptionalProto opt, string path)
    {
        if (opt.TensorValue is not null) return new OptionalData(TensorProtos.ToTensorData(opt.TensorValue, path));
        if (opt.SequenceValue is not null) return new OptionalData(FromSequence(opt.SequenceValue, path));
        return new OptionalData(null);
    }

    /// <summary>Writes one sample in the backend layout: DIR/input_K.pb (or output_K.pb) as TensorProto files.</summary>
    public static void WriteSet(string dir, DataRole role, ValueMap values)
    {
        Directory.CreateDirectory(dir);
        var prefix = role == DataRole.Inputs ? "input" : "output";
        int k = 0;
        foreach (var (name, v) in values)
        {
            if (v is not TensorData t) throw new InvalidInputException($"{name}: only tensors can be written as .pb files");
            // Each file through a temporary of its own (two saves at once never mix), renamed into place.
            AtomicFile.Write(Path.Combine(dir, $"{prefix}_{k++}.pb"), fs => Google.Protobuf.MessageExtensions.WriteTo(TensorProtos.FromTensorData(name, t), fs), 1 << 20);
        }
    }
}
