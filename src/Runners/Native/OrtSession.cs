using System.Runtime.InteropServices;
using PolyNet.Onnx;

namespace PolyNet.Runners.Native;

/// <summary>
/// One ONNX Runtime inference session: its inputs and outputs as ORT reports them, and Run over PolyNet values.
/// Owns the native session (released on Dispose) and the UTF-8 copies of its input and output names.
///
/// Memory during <see cref="Run"/>: numeric input tensors are passed to ORT without copying (their arrays are pinned
/// for the duration of the call); string and sequence inputs are copied into ORT-owned values. Outputs are copied
/// once into new <see cref="TensorData"/> arrays and ORT's values are released before Run returns, so nothing
/// returned refers to native memory.
/// </summary>
public sealed unsafe class OrtSession : IDisposable
{
    private readonly OrtSessionHandle _session;
    private readonly OrtMemoryInfoHandle _cpu;
    private readonly Dictionary<string, int> _inputIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _outputIndex = new(StringComparer.Ordinal);
    private readonly IntPtr[] _inputNames;
    private readonly IntPtr[] _outputNames;
    private bool _disposed;

    private OrtSession(OrtSessionHandle session)
    {
        var api = OrtApi.Current;
        _session = session;
        _cpu = api.CreateCpuMemoryInfo();
        var inputs = new List<ValueSpec>();
        for (int i = 0; i < api.SessionGetInputCount(session); i++)
        {
            var name = api.SessionGetInputName(session, i);
            using var ti = api.SessionGetInputTypeInfo(session, i);
            inputs.Add(Describe(name, ti.Ptr));
            _inputIndex[name] = i;
        }
        var outputs = new List<ValueSpec>();
        for (int i = 0; i < api.SessionGetOutputCount(session); i++)
        {
            var name = api.SessionGetOutputName(session, i);
            using var ti = api.SessionGetOutputTypeInfo(session, i);
            outputs.Add(Describe(name, ti.Ptr));
            _outputIndex[name] = i;
        }
        Inputs = inputs;
        Outputs = outputs;
        _inputNames = inputs.Select(s => Marshal.StringToCoTaskMemUTF8(s.Name)).ToArray();
        _outputNames = outputs.Select(s => Marshal.StringToCoTaskMemUTF8(s.Name)).ToArray();
    }

    /// <summary>Creates a session from a model file; ORT reads it (and its external data) itself.</summary>
    public static OrtSession Create(string modelPath, OrtSessionOptionsHandle options)
    {
        var rt = OrtRuntime.Current;
        return new OrtSession(rt.Api.CreateSession(rt.Env, modelPath, options));
    }

    /// <summary>Creates a session from serialized model bytes (external data resolves as the options say).</summary>
    public static OrtSession Create(byte[] model, OrtSessionOptionsHandle options)
    {
        var rt = OrtRuntime.Current;
        return new OrtSession(rt.Api.CreateSessionFromArray(rt.Env, model, options));
    }

    /// <summary>Inputs as ORT reports them (initializers excluded), in ORT's order.</summary>
    public IReadOnlyList<ValueSpec> Inputs { get; }
    public IReadOnlyList<ValueSpec> Outputs { get; }

    internal OrtSessionHandle Handle => _session;

    /// <summary>Time spent inside ORT's Run during the last <see cref="Run"/> (the rest is PolyNet's own work).</summary>
    public TimeSpan LastNativeRunTime { get; private set; }

    private static ValueSpec Describe(string name, IntPtr typeInfo)
    {
        var api = OrtApi.Current;
        switch (api.GetOnnxTypeFromTypeInfo(typeInfo))
        {
            case 1: // tensor
            {
                var (type, shape) = TensorInfo(api.CastTypeInfoToTensorInfo(typeInfo));
                return new ValueSpec(name, ValueKind.Tensor, type, shape);
            }
            case 2: // sequence
            {
                using var elem = api.GetSequenceElementType(api.CastTypeInfoToSequenceTypeInfo(typeInfo));
                var inner = Describe(name, elem.Ptr);
                return inner with { Kind = ValueKind.Sequence };
            }
            case 6: // optional
            {
                using var contained = api.GetOptionalContainedTypeInfo(api.CastTypeInfoToOptionalTypeInfo(typeInfo));
                var inner = Describe(name, contained.Ptr);
                return inner with { Kind = ValueKind.Optional };
            }
            default: // maps, sparse tensors: PolyNet cannot feed or read them
                return new ValueSpec(name, ValueKind.Tensor, ElementType.Undefined, null);
        }
    }

    private static (ElementType, SymbolicShape) TensorInfo(IntPtr info)
    {
        var api = OrtApi.Current;
        var type = (ElementType)api.GetTensorElementType(info);
        var (dims, syms) = api.GetShape(info);
        var shape = new SymbolicShape(dims.Select((d, i) => d >= 0 ? SymbolicDim.Fixed(d) : syms[i].Length > 0 ? SymbolicDim.Named(syms[i]) : SymbolicDim.Unknown).ToList());
        return (type, shape);
    }

    /// <summary>Outputs of the last <see cref="Run"/> that could not be read, by name, with the reason (only those it was asked to tolerate).</summary>
    public IReadOnlyDictionary<string, string> LastUnreadable { get; private set; } = new Dictionary<string, string>();

    /// <summary>
    /// Runs the model on <paramref name="feeds"/> (by input name) and returns <paramref name="outputNames"/>
    /// (default: every output) in that order. An empty optional feed is left out, which ORT reads as "no value".
    /// An output in <paramref name="tolerate"/> that PolyNet cannot read is left out of the result and named in
    /// <see cref="LastUnreadable"/> instead of failing the run (intermediate tensors exposed for layerwise comparison).
    /// </summary>
    private static readonly AsyncLocal<TimeSpan?> _runTimeout = new();

    /// <summary>
    /// The longest one inference may take (the CLI's --timeout; null: no limit), for the command being run: set once
    /// per invocation, it flows to every task and thread the command starts, and not to other invocations in the
    /// same process (tests run several at once).
    /// </summary>
    public static TimeSpan? RunTimeout
    {
        get => _runTimeout.Value;
        set => _runTimeout.Value = value;
    }

    public ValueMap Run(ValueMap feeds, IReadOnlyList<string>? outputNames = null, OrtRunOptionsHandle? runOptions = null, IReadOnlySet<string>? tolerate = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var api = OrtApi.Current;
        var outIdx = outputNames is null
            ? Enumerable.Range(0, Outputs.Count).ToArray()
            : outputNames.Select(n => _outputIndex.TryGetValue(n, out var i) ? i : throw new InvalidInputException($"the model has no output named '{n}'")).ToArray();

        var pins = new List<System.Buffers.MemoryHandle>(feeds.Count);
        var owned = new List<OrtValueHandle>(feeds.Count);
        var inNames = new List<IntPtr>(feeds.Count);
        var inValues = new List<IntPtr>(feeds.Count);
        var outValues = new IntPtr[outIdx.Length];
        try
        {
            foreach (var (name, value) in feeds)
            {
                if (!_inputIndex.TryGetValue(name, out var i))
                    throw new InvalidInputException($"the model has no input named '{name}' (inputs: {string.Join(", ", Inputs.Select(s => s.Name))})");
                var v = value is OptionalData opt ? opt.Value : value;
                if (v is null) continue;
                var h = ToOrtValue(v, pins, owned);
                inNames.Add(_inputNames[i]);
                inValues.Add(h.Ptr);
            }
            var outNames = outIdx.Select(i => _outputNames[i]).ToArray();
            var inN = inNames.ToArray();
            var inV = inValues.ToArray();
            // A time limit (OrtSession.RunTimeout): ORT's own terminate flag, raised by a timer, stops the run between
            // two kernels (a Loop that never ends included) and Run returns an error, reported as the time limit.
            var limit = RunTimeout;
            OrtRunOptionsHandle? own = limit is not null && runOptions is null ? api.CreateRunOptions() : null;
            int expired = 0;
            using var timer = limit is { } t && (runOptions ?? own) is { } ro
                ? new Timer(_ => { Interlocked.Exchange(ref expired, 1); api.RunOptionsSetTerminate(ro); }, null, t, Timeout.InfiniteTimeSpan)
                : null;
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                fixed (IntPtr* pn = inN)
                fixed (IntPtr* pv = inV)
                fixed (IntPtr* po = outNames)
                fixed (IntPtr* pov = outValues)
                    api.Run(_session, runOptions ?? own, pn, pv, inN.Length, po, outNames.Length, pov);
            }
            catch (OrtException) when (Volatile.Read(ref expired) == 1)
            {
                throw new TimeoutException($"inference did not finish within {limit!.Value.TotalSeconds:0.###} s (--timeout); ONNX Runtime stopped it");
            }
            finally
            {
                timer?.Dispose();
                own?.Dispose();
            }
            LastNativeRunTime = System.Diagnostics.Stopwatch.GetElapsedTime(start);

            // ORT hands the outputs over: own them at once, so they are released whatever happens next; each is
            // released as soon as it is copied out, so that many large outputs are never all held twice.
            var outHandles = outValues.Select(OrtApi.OwnValue).ToArray();
            owned.AddRange(outHandles);
            var result = new ValueMap();
            var unreadable = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int k = 0; k < outIdx.Length; k++)
            {
                var spec = Outputs[outIdx[k]];
                try
                {
                    result.Add(spec.Name, FromOrtValue(outValues[k], spec.Kind));
                }
                catch (PolyNetException e) when (tolerate?.Contains(spec.Name) == true)
                {
                    unreadable[spec.Name] = e.Message;
                }
                finally
                {
                    outHandles[k].Dispose();
                }
            }
            LastUnreadable = unreadable;
            return result;
        }
        finally
        {
            foreach (var h in owned) h.Dispose();
            foreach (var p in pins) p.Dispose();
        }
    }

    /// <summary>
    /// Prepares repeated runs on <paramref name="feeds"/> with ORT's I/O binding: each input is placed once where the
    /// session reads it (copied to device memory with CopyTensors when a provider wants it there and ORT has a shared
    /// allocator for that memory), each output is bound to the device that produces it, and <see cref="BoundRun.Run"/>
    /// then times the engine alone, as trtexec does by default. With an ORT older than 1.23 (no memory-info queries),
    /// inputs stay in host memory and ORT copies them each run; <see cref="BoundRun.Placement"/> says which.
    /// The returned object owns the binding, the device copies and the pins of the host arrays; dispose it before the session.
    /// With <paramref name="copyEachRun"/>, each run also copies the host inputs into their device buffers first and the
    /// device outputs back into host tensors after (trtexec's host latency: the buffers stay put, so a CUDA graph still
    /// replays); the host side is pinned memory where the provider shares a pinned allocator, as trtexec's is.
    /// </summary>
    public BoundRun Bind(ValueMap feeds, bool copyEachRun = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var api = OrtApi.Current;
        var env = OrtRuntime.Current.Env;
        var pins = new List<System.Buffers.MemoryHandle>();
        var owned = new List<OrtValueHandle>();
        var binding = api.CreateIoBinding(_session);
        try
        {
            bool canQuery = api.Has(OrtApiIndex.SessionGetMemoryInfoForInputs) && api.Has(OrtApiIndex.CopyTensors);
            var inInfo = canQuery ? api.SessionGetMemoryInfoForInputs(_session, Inputs.Count) : new IntPtr[Inputs.Count];
            var placements = new List<string>();
            var copiesIn = new List<(OrtValueHandle Host, OrtValueHandle Device)>();
            foreach (var (name, value) in feeds)
            {
                if (!_inputIndex.TryGetValue(name, out var i))
                    throw new InvalidInputException($"the model has no input named '{name}' (inputs: {string.Join(", ", Inputs.Select(x => x.Name))})");
                var v = value is OptionalData opt ? opt.Value : value;
                if (v is null) continue;
                var host = ToOrtValue(v, pins, owned);
                var bound = host;
                if (inInfo[i] != IntPtr.Zero && api.MemoryInfoGetDeviceType(inInfo[i]) != 0 && v is TensorData t && t.ElementType != ElementType.String)
                {
                    var allocator = api.GetSharedAllocator(env, inInfo[i]);
                    if (allocator != IntPtr.Zero)
                    {
                        bound = api.CreateTensorAsOrtValue(allocator, t.Shape.Dims, (int)t.ElementType);
                        owned.Add(bound);
                        api.CopyTensors(env, [host], [bound]);
                        if (copyEachRun)
                        {
                            var (source, pinned) = PinnedCopy(host, t, inInfo[i], owned);
                            copiesIn.Add((source, bound));
                            placements.Add($"{name} copied from {(pinned ? "pinned" : "pageable")} host memory to {api.MemoryInfoGetName(inInfo[i])} each run");
                        }
                        else placements.Add($"{name} on {api.MemoryInfoGetName(inInfo[i])}");
                    }
                    else placements.Add($"{name} in host memory (copied each run: no shared allocator for {api.MemoryInfoGetName(inInfo[i])})");
                }
                else placements.Add($"{name} in host memory");
                api.BindInput(binding, name, bound);
            }
            var outInfo = canQuery ? api.SessionGetMemoryInfoForOutputs(_session, Outputs.Count) : null;
            var copiedOut = new bool[Outputs.Count];
            var outAllocators = new IntPtr[Outputs.Count];
            for (int k = 0; k < Outputs.Count; k++)
            {
                if (outInfo is not null && outInfo[k] != IntPtr.Zero)
                {
                    api.BindOutputToDevice(binding, Outputs[k].Name, outInfo[k]);
                    copiedOut[k] = copyEachRun && api.MemoryInfoGetDeviceType(outInfo[k]) != 0;
                    if (copiedOut[k]) outAllocators[k] = PinnedAllocator(outInfo[k]);
                    placements.Add(copiedOut[k] ? $"{Outputs[k].Name} copied back from {api.MemoryInfoGetName(outInfo[k])} to {(outAllocators[k] != IntPtr.Zero ? "pinned" : "pageable")} host memory each run" : $"{Outputs[k].Name} on {api.MemoryInfoGetName(outInfo[k])}");
                }
                else
                {
                    api.BindOutputToDevice(binding, Outputs[k].Name, _cpu);
                    placements.Add($"{Outputs[k].Name} in host memory");
                }
            }
            return new BoundRun(_session, binding, owned, pins, string.Join(", ", placements))
            {
                CopiesIn = copiesIn, CopiedOut = copyEachRun && copiedOut.Any(c => c) ? copiedOut : null, OutputAllocators = outAllocators,
            };
        }
        catch
        {
            binding.Dispose();
            foreach (var h in owned) h.Dispose();
            foreach (var p in pins) p.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The host allocator the device <paramref name="deviceMemory"/> transfers from directly (pinned memory, shared in
    /// the environment by providers that offer one, as the CUDA provider plugin does); zero where there is none.
    /// </summary>
    private static IntPtr PinnedAllocator(IntPtr deviceMemory)
    {
        var api = OrtApi.Current;
        if (!api.Has(OrtApiIndex.CreateMemoryInfo_V2)) return IntPtr.Zero;
        try
        {
            using var pinned = api.CreateMemoryInfoV2("pinned", api.MemoryInfoGetDeviceType(deviceMemory), api.MemoryInfoGetVendorId(deviceMemory), api.MemoryInfoGetId(deviceMemory), memType: 5);
            return api.GetSharedAllocator(OrtRuntime.Current.Env, pinned.Ptr);
        }
        catch (OrtException)
        {
            return IntPtr.Zero;
        }
    }

    /// <summary>The source each run copies <paramref name="t"/> to the device from: a pinned copy of it where one can be made.</summary>
    private static (OrtValueHandle Source, bool Pinned) PinnedCopy(OrtValueHandle host, TensorData t, IntPtr deviceMemory, List<OrtValueHandle> owned)
    {
        var allocator = PinnedAllocator(deviceMemory);
        if (allocator == IntPtr.Zero) return (host, false);
        var api = OrtApi.Current;
        var pinned = api.CreateTensorAsOrtValue(allocator, t.Shape.Dims, (int)t.ElementType);
        owned.Add(pinned);
        Buffer.MemoryCopy(api.GetTensorMutableData(host.Ptr), api.GetTensorMutableData(pinned.Ptr), t.ByteCount, t.ByteCount);
        return (pinned, true);
    }

    private OrtValueHandle ToOrtValue(OnnxValue v, List<System.Buffers.MemoryHandle> pins, List<OrtValueHandle> owned)
    {
        var api = OrtApi.Current;
        switch (v)
        {
            case TensorData t when t.ElementType == ElementType.String:
            {
                var h = api.CreateTensorAsOrtValue(t.Shape.Dims, (int)ElementType.String);
                owned.Add(h);
                api.FillStringTensor(h, t.Strings);
                return h;
            }
            case TensorData t:
            {
                var pin = t.Memory.Pin();
                int size = t.ElementType.ByteSize();
                if (size > 1 && (nuint)pin.Pointer % (nuint)size != 0)
                {
                    // A mapped file's array need not be aligned to its element size (numpy's .npz members are not):
                    // ONNX Runtime's kernels get an aligned copy.
                    pin.Dispose();
                    pin = t.Memory.ToArray().AsMemory().Pin();
                }
                pins.Add(pin);
                var h = api.CreateTensorWithDataAsOrtValue(_cpu, pin.Pointer, (nuint)t.ByteCount, t.Shape.Dims, (int)t.ElementType);
                owned.Add(h);
                return h;
            }
            case SequenceData s:
            {
                var items = s.Items.Select(item => ToOrtValue(item, pins, owned).Ptr).ToArray();
                var h = api.CreateSequence(items);
                owned.Add(h);
                return h;
            }
            default:
                throw new InvalidInputException($"cannot feed a {v.Kind} value to ONNX Runtime");
        }
    }

    private static OnnxValue FromOrtValue(IntPtr value, ValueKind declared)
    {
        var api = OrtApi.Current;
        if (value == IntPtr.Zero || (declared == ValueKind.Optional && !api.HasValue(value)))
            return new OptionalData(null);
        OnnxValue result;
        switch (api.GetValueType(value))
        {
            case 1:
                result = CopyTensor(value);
                break;
            case 2:
            {
                int n = api.GetValueCount(value);
                var items = new List<TensorData>(n);
                for (int i = 0; i < n; i++)
                {
                    using var item = api.GetValue(value, i);
                    items.Add(CopyTensor(item.Ptr));
                }
                result = new SequenceData(items.Count > 0 ? items[0].ElementType : ElementType.Float, items);
                break;
            }
            case var other:
                throw new PolyNetException($"ONNX Runtime returned a value of ONNX type {other}, which PolyNet cannot read (maps and sparse tensors are not supported)", ExitCodes.RunnerFailed);
        }
        return declared == ValueKind.Optional ? new OptionalData(result) : result;
    }

    private static TensorData CopyTensor(IntPtr value)
    {
        var api = OrtApi.Current;
        ElementType type;
        TensorShape shape;
        using (var info = api.GetTensorTypeAndShape(value))
        {
            type = (ElementType)api.GetTensorElementType(info.Ptr);
            shape = new TensorShape(api.GetShape(info.Ptr).Dims);
        }
        if (type == ElementType.String)
            return new TensorData(shape, api.GetStrings(value, shape.ElementCount));
        if (!type.IsSupported())
            throw new PolyNetException($"ONNX Runtime returned a {type.DisplayName()} tensor, which PolyNet cannot compare yet", ExitCodes.RunnerFailed);
        var t = TensorData.Allocate(type, shape);
        if (t.ByteCount > 0)
        {
            var src = api.GetTensorMutableData(value);
            new ReadOnlySpan<byte>(src, t.ByteCount).CopyTo(t.Bytes);
        }
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _cpu.Dispose();
        foreach (var p in _inputNames) Marshal.FreeCoTaskMem(p);
        foreach (var p in _outputNames) Marshal.FreeCoTaskMem(p);
    }
}

/// <summary>
/// A session bound to fixed inputs and outputs (<see cref="OrtSession.Bind"/>): runs without copying anything in or
/// out, for latency measurement. Owns the I/O binding, device copies of the inputs and pins of the host arrays;
/// the session must outlive it.
/// </summary>
public sealed class BoundRun : IDisposable
{
    private readonly OrtSessionHandle _session;
    private readonly OrtIoBindingHandle _binding;
    private readonly List<OrtValueHandle> _owned;
    private readonly List<System.Buffers.MemoryHandle> _pins;

    internal BoundRun(OrtSessionHandle session, OrtIoBindingHandle binding, List<OrtValueHandle> owned, List<System.Buffers.MemoryHandle> pins, string placement)
    {
        _session = session;
        _binding = binding;
        _owned = owned;
        _pins = pins;
        Placement = placement;
    }

    /// <summary>Where each input and output lives, e.g. "input on Cuda, logits on Cuda".</summary>
    public string Placement { get; }

    /// <summary>Host inputs copied into their device buffers before each run (bound with copies each run).</summary>
    internal IReadOnlyList<(OrtValueHandle Host, OrtValueHandle Device)> CopiesIn { get; init; } = [];

    /// <summary>Per output: copied back from the device after each run (null: none is).</summary>
    internal bool[]? CopiedOut { get; init; }

    /// <summary>Per output copied back: the pinned host allocator its copy lives in (zero: ORT's default, pageable).</summary>
    internal IntPtr[] OutputAllocators { get; init; } = [];

    /// <summary>The host tensors device outputs are copied into, kept while their shape stays.</summary>
    private readonly Dictionary<int, (long[] Dims, int Type, OrtValueHandle Host)> _hostOut = [];

    /// <summary>Whether each run copies inputs in and outputs out (see <see cref="OrtSession.Bind"/>).</summary>
    public bool CopiesEachRun => CopiesIn.Count > 0 || CopiedOut is not null;

    /// <summary>The last run's time in ORT's Run alone, without the copies around it.</summary>
    public TimeSpan LastEngineTime { get; private set; }

    /// <summary>
    /// One run, with its copies when bound with them; returns when ORT's Run (and the copies, which are synchronous)
    /// do: ORT synchronizes the providers' streams before returning.
    /// </summary>
    public TimeSpan Run()
    {
        // Under a time limit (OrtSession.RunTimeout, read once when bound): one RunOptions and one timer for every run,
        // re-armed each time, so the limit costs a timer change per run, not an allocation.
        if (_limit is { } limit)
        {
            _ro ??= OrtApi.Current.CreateRunOptions();
            _timer ??= new Timer(_ => { Volatile.Write(ref _expired, 1); OrtApi.Current.RunOptionsSetTerminate(_ro); });
            _timer.Change(limit, Timeout.InfiniteTimeSpan);
        }
        var api = OrtApi.Current;
        var env = OrtRuntime.Current.Env;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            foreach (var (host, device) in CopiesIn) api.CopyTensors(env, [host], [device]);
            long engine = System.Diagnostics.Stopwatch.GetTimestamp();
            api.RunWithBinding(_session, _ro, _binding);
            LastEngineTime = System.Diagnostics.Stopwatch.GetElapsedTime(engine);
            if (CopiedOut is not null) CopyOutputsBack(api, env);
        }
        catch (OrtException) when (Volatile.Read(ref _expired) == 1)
        {
            throw new TimeoutException($"inference did not finish within {_limit!.Value.TotalSeconds:0.###} s (--timeout); ONNX Runtime stopped it");
        }
        finally
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        return System.Diagnostics.Stopwatch.GetElapsedTime(start);
    }

    private void CopyOutputsBack(OrtApi api, OrtEnvHandle env)
    {
        var values = api.GetBoundOutputValues(_binding);
        try
        {
            for (int k = 0; k < values.Length && k < CopiedOut!.Length; k++)
            {
                if (!CopiedOut[k]) continue;
                using var info = api.GetTensorTypeAndShape(values[k].Ptr);
                var dims = api.GetShape(info.Ptr).Dims;
                int type = api.GetTensorElementType(info.Ptr);
                if (!_hostOut.TryGetValue(k, out var host) || host.Type != type || !host.Dims.AsSpan().SequenceEqual(dims))
                {
                    if (host.Host is not null) host.Host.Dispose();
                    host = (dims, type, OutputAllocators.ElementAtOrDefault(k) is var a && a != IntPtr.Zero ? api.CreateTensorAsOrtValue(a, dims, type) : api.CreateTensorAsOrtValue(dims, type));
                    _hostOut[k] = host;
                }
                api.CopyTensors(env, [values[k]], [host.Host]);
            }
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private readonly TimeSpan? _limit = OrtSession.RunTimeout;
    private OrtRunOptionsHandle? _ro;
    private Timer? _timer;
    private int _expired;

    public void Dispose()
    {
        _timer?.Dispose();
        _ro?.Dispose();
        _binding.Dispose();
        foreach (var (_, _, h) in _hostOut.Values) h.Dispose();
        _hostOut.Clear();
        foreach (var h in _owned) h.Dispose();
        foreach (var p in _pins) p.Dispose();
        _owned.Clear();
        _pins.Clear();
    }
}
