using Google.Protobuf;
using PolyNet.Onnx.Data;
using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx;

/// <summary>What <see cref="OnnxModel.Load"/> does with external data.</summary>
public enum ExternalDataMode
{
    /// <summary>Check every reference (inside the folder, file exists, sizes fit) and leave the bytes in their files.</summary>
    Validate,
    /// <summary>
    /// Check, then make every external tensor's bytes part of the model (raw_data), so it no longer refers to side
    /// files. The bytes are memory-mapped, not copied: loading costs almost nothing and pages are read on first use.
    /// </summary>
    Load,
    /// <summary>
    /// Leave references unchecked: for describing a model's graph when its side files are missing or broken (nothing
    /// that reads the weights may use such a model).
    /// </summary>
    Unchecked,
}

/// <summary>How <see cref="OnnxModel.Save"/> stores tensors.</summary>
public enum ExternalDataPolicy
{
    /// <summary>External when the model already uses external data or would exceed ONNX's 2 GB file limit; otherwise inline.</summary>
    Auto,
    /// <summary>Everything inline in the .onnx file (fails beyond 2 GB).</summary>
    Embed,
    /// <summary>Every tensor of at least <see cref="ModelSaveOptions.SizeThreshold"/> bytes goes to the side file.</summary>
    External,
}

/// <summary>Options of <see cref="OnnxModel.Save"/>. Defaults: Auto policy, "MODEL.onnx.data", 1 KiB threshold, 4 KiB alignment.</summary>
public sealed class ModelSaveOptions
{
    public ExternalDataPolicy ExternalData { get; init; } = ExternalDataPolicy.Auto;
    /// <summary>Side file name, relative to the model's folder; default: the model's file name plus ".data".</summary>
    public string? ExternalDataFileName { get; init; }
    public long SizeThreshold { get; init; } = 1024;
    /// <summary>Offsets in the side file are multiples of this, so ONNX Runtime can memory-map the tensors.</summary>
    public int Alignment { get; init; } = 4096;
}

/// <summary>
/// An ONNX model and where it came from. Loading never loses information: fields PolyNet's proto does not
/// know are kept and written back; external data is checked (never read outside the model's folder) and
/// stays in its files unless <see cref="ExternalDataMode.Load"/> is asked for.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Protobuf's own limit for one message; ONNX files cannot be larger.</summary>
    public const long MaxProtoBytes = int.MaxValue;

    private readonly string? _displayName;

    private OnnxModel(ModelProto proto, string? path, string? baseDirectory, string? displayName = null)
    {
        Proto = proto;
        Path = path;
        BaseDirectory = baseDirectory;
        _displayName = displayName;
    }

    public ModelProto Proto { get; }
    /// <summary>The file that holds exactly this model (it was loaded from it and not changed since), or null.</summary>
    public string? Path { get; }
    /// <summary>The folder external data locations are relative to, or null for a model with no folder.</summary>
    public string? BaseDirectory { get; }
    /// <summary>The file name for messages (a derived model keeps the name of the file it came from).</summary>
    public string DisplayName => _displayName ?? Path ?? "<in-memory model>";
    public GraphProto Graph => Proto.Graph;

    public static OnnxModel Load(string path, ExternalDataMode mode = ExternalDataMode.Validate)
    {
        var bytes = TensorProtos.ReadFileBytes(path);
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        return Parse(bytes, path, dir, mode);
    }

    /// <summary>Parses serialized model bytes; <paramref name="displayName"/> names them in errors.</summary>
    public static OnnxModel Parse(ReadOnlySpan<byte> bytes, string displayName, string? baseDirectory, ExternalDataMode mode = ExternalDataMode.Validate)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw InvalidInputException.ForFile(displayName, bytes.Length == 0 ? "empty file, not an ONNX model" : $"not a valid ONNX model ({TensorProtos.Describe(e)})");
        }
        if (proto.Graph is null || !proto.HasIrVersion)
            throw InvalidInputException.ForFile(displayName, bytes.Length == 0
                ? "empty file, not an ONNX model"
                : $"not an ONNX model: {(proto.Graph is null ? "it has no graph" : "it has no IR version")}");
        var model = new OnnxModel(proto, displayName, baseDirectory);
        model.CheckExternalData(mode);
        return model;
    }

    /// <summary>Wraps an in-memory proto (not copied). External data, if any, resolves against <paramref name="baseDirectory"/>.</summary>
    public static OnnxModel FromProto(ModelProto proto, string? baseDirectory = null, string? displayName = null)
        => new(proto, null, baseDirectory, displayName);

    /// <summary>A deep copy that shares tensor bytes (immutable) with this model.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), Path, BaseDirectory, _displayName);

    /// <summary>A new model around <paramref name="proto"/> derived from this one: same folder for external data and same name in messages, but no file (it holds other content).</summary>
    public OnnxModel WithProto(ModelProto proto) => new(proto, null, BaseDirectory, DisplayName);

    public bool HasExternalData => ModelWalker.AllTensors(Proto).Any(ExternalData.IsExternal);

    /// <summary>The opset version imported for <paramref name="domain"/> ("" or "ai.onnx" is the default domain), or null.</summary>
    public long? OpsetVersion(string domain = "")
    {
        foreach (var o in Proto.OpsetImport)
        {
            var d = o.Domain ?? "";
            if (d == domain || (domain.Length == 0 && d == "ai.onnx") || (domain == "ai.onnx" && d.Length == 0)) return o.Version;
        }
        return null;
    }

    /// <summary>The graph's inputs that must be fed (initializers with a default value excluded), in declaration order.</summary>
    public IReadOnlyList<ValueSpec> Inputs
    {
        get
        {
            var inits = new HashSet<string>(Graph.Initializer.Select(i => i.Name).Concat(Graph.SparseInitializer.Select(s => s.Values?.Name ?? "")), StringComparer.Ordinal);
            return Graph.Input.Where(i => !inits.Contains(i.Name)).Select(vi => ValueSpec.FromValueInfo(vi)
                ?? new ValueSpec(vi.Name, ValueKind.Tensor, ElementType.Undefined, null)).ToList();
        }
    }

    public IReadOnlyList<ValueSpec> Outputs
        => Graph.Output.Select(vi => ValueSpec.FromValueInfo(vi) ?? new ValueSpec(vi.Name, ValueKind.Tensor, ElementType.Undefined, null)).ToList();

    /// <summary>Decodes a tensor stored in this model (reading external data when needed).</summary>
    public TensorData ReadTensor(TensorProto t) => TensorProtos.ToTensorData(t, DisplayName, BaseDirectory);

    private void CheckExternalData(ExternalDataMode mode)
    {
        if (mode == ExternalDataMode.Unchecked) return;
        var maps = new Dictionary<string, System.IO.MemoryMappedFiles.MemoryMappedFile>(StringComparer.Ordinal);
        try
        {
            foreach (var t in ModelWalker.AllTensors(Proto))
            {
                if (!ExternalData.IsExternal(t)) continue;
                if (BaseDirectory is null)
                    throw InvalidInputException.ForFile(DisplayName, $"tensor '{t.Name}' refers to external data but the model has no folder to find it in");
                var file = ExternalData.Validate(t, BaseDirectory, DisplayName);
                if (mode != ExternalDataMode.Load) continue;
                var info = ExternalData.Parse(t, DisplayName);
                long length = info.Length ?? new FileInfo(file).Length - info.Offset;
                if (length > Array.MaxLength)
                    throw InvalidInputException.ForFile(DisplayName, $"tensor '{t.Name}' is {length} bytes, more than one in-memory tensor may hold");
                if (length == 0)
                {
                    Embed(t, ReadOnlyMemory<byte>.Empty);
                    continue;
                }
                if (!maps.TryGetValue(file, out var map))
                    maps[file] = map = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(file, FileMode.Open, null, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
                Embed(t, MappedMemory.Map(map, info.Offset, (int)length).Memory);
            }
        }
        finally
        {
            // Views keep their own reference to the mapping; the file objects themselves are no longer needed.
            foreach (var m in maps.Values) m.Dispose();
        }
    }

    private static void Embed(TensorProto t, ReadOnlyMemory<byte> bytes)
    {
        t.ExternalData.Clear();
        t.ClearDataLocation();
        t.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
    }

    /// <summary>
    /// Serializes the model for ONNX Runtime. External references are kept (pass <see cref="BaseDirectory"/> to the
    /// runtime so it finds them); everything inline must fit in one 2 GB message.
    /// </summary>
    public byte[] ToBytes()
    {
        long inline = InlineBytes(Proto);
        if (inline > MaxProtoBytes - (64 << 20))
            throw new InvalidInputException($"{DisplayName}: the model holds {inline >> 20} MiB of inline tensors, beyond ONNX's 2 GB file limit; save it with external data first");
        return Proto.ToByteArray();
    }

    private static long InlineBytes(ModelProto m)
    {
        long sum = 0;
        foreach (var t in ModelWalker.AllTensors(m)) sum += t.RawData.Length + 4L * t.FloatData.Count + 8L * t.DoubleData.Count + 8L * t.Int64Data.Count + 4L * t.Int32Data.Count + 8L * t.Uint64Data.Count;
        return sum;
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/>, atomically (temporary files renamed into place, so an
    /// interruption leaves either the old files or the new ones). External tensors are written to one side file
    /// beside it. Refuses to overwrite a side file this model itself reads from.
    /// </summary>
    public void Save(string path, ModelSaveOptions? options = null)
    {
        options ??= new ModelSaveOptions();
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw InvalidInputException.ForFile(path, $"folder {dir} does not exist");
        var policy = options.ExternalData;
        if (policy == ExternalDataPolicy.Auto)
            policy = HasExternalData || InlineBytes(Proto) > MaxProtoBytes - (64 << 20) ? ExternalDataPolicy.External : ExternalDataPolicy.Embed;

        var copy = Proto.Clone();
        string? dataTemp = null;
        string? dataFinal = null;
        var modelTemp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            if (policy == ExternalDataPolicy.Embed)
            {
                long total = InlineBytes(copy);
                if (total > MaxProtoBytes - (64 << 20))
                    throw InvalidInputException.ForFile(path, $"the model's tensors ({total >> 20} MiB) exceed ONNX's 2 GB file limit; save with external data");
                foreach (var t in ModelWalker.AllTensors(copy))
                    if (ExternalData.IsExternal(t))
                    {
                        total += ExternalLength(t);
                        if (total > MaxProtoBytes - (64 << 20))
                            throw InvalidInputException.ForFile(path, "the model's tensors exceed ONNX's 2 GB file limit; save with external data");
                        Embed(t, ExternalData.Read(t, BaseDirectory!, DisplayName));
                    }
            }
            else
            {
                var dataName = options.ExternalDataFileName ?? System.IO.Path.GetFileName(full) + ".data";
                if (dataName.Contains('/') || dataName.Contains('\\') || dataName.StartsWith("..", StringComparison.Ordinal))
                    throw InvalidInputException.ForFile(path, $"external data file name '{dataName}' must be a plain file name");
                dataFinal = System.IO.Path.Combine(dir, dataName);
                foreach (var t in ModelWalker.AllTensors(Proto))
                    if (ExternalData.IsExternal(t) && BaseDirectory is not null
                        && string.Equals(ExternalData.ResolvePath(BaseDirectory, ExternalData.Parse(t, DisplayName), DisplayName, t.Name), dataFinal, StringComparison.Ordinal))
                        throw InvalidInputException.ForFile(path, $"refusing to overwrite '{dataName}', which this model reads its weights from; save under another name");
                dataTemp = dataFinal + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
                WriteExternal(copy, dataTemp, dataName, options);
            }
            using (var fs = new FileStream(modelTemp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                copy.WriteTo(fs);
                fs.Flush(flushToDisk: false);
            }
            if (dataTemp is not null)
            {
                if (new FileInfo(dataTemp).Length > 0) File.Move(dataTemp, dataFinal!, overwrite: true);
                else File.Delete(dataTemp);
            }
            File.Move(modelTemp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(modelTemp)) File.Delete(modelTemp);
            if (dataTemp is not null && File.Exists(dataTemp)) File.Delete(dataTemp);
        }
    }

    private long ExternalLength(TensorProto t)
    {
        var info = ExternalData.Parse(t, DisplayName);
        return info.Length ?? new FileInfo(ExternalData.ResolvePath(BaseDirectory!, info, DisplayName, t.Name)).Length - info.Offset;
    }

    private void WriteExternal(ModelProto copy, string dataTemp, string dataName, ModelSaveOptions options)
    {
        using var data = new FileStream(dataTemp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        foreach (var t in ModelWalker.AllTensors(copy))
        {
            ReadOnlyMemory<byte> bytes;
            if (ExternalData.IsExternal(t))
                bytes = ExternalData.Read(t, BaseDirectory!, DisplayName);
            else if (t.HasRawData && t.RawData.Length >= options.SizeThreshold)
                bytes = t.RawData.Memory;
            else if (!t.HasRawData && (ElementType)t.DataType is var et && et.IsSupported() && et != ElementType.String
                     && TypedBytes(t) >= options.SizeThreshold)
                bytes = TensorProtos.ToTensorData(t, DisplayName).Memory;
            else
                continue;
            long pad = (options.Alignment - data.Position % options.Alignment) % options.Alignment;
            if (pad > 0) data.Write(new byte[pad]);
            long offset = data.Position;
            data.Write(bytes.Span);
            t.ClearRawData();
            t.FloatData.Clear(); t.DoubleData.Clear(); t.Int32Data.Clear(); t.Int64Data.Clear(); t.Uint64Data.Clear();
            t.ExternalData.Clear();
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.DataLocation = TensorProto.Types.DataLocation.External;
        }
        data.Flush(flushToDisk: false);
    }

    private static long TypedBytes(TensorProto t)
        => 4L * t.FloatData.Count + 8L * t.DoubleData.Count + 8L * t.Int64Data.Count + 4L * t.Int32Data.Count + 8L * t.Uint64Data.Count;
}
