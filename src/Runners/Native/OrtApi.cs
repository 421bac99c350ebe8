using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolyNet.Runners.Native;

/// <summary>
/// PolyNet's binding to ONNX Runtime's C API: the OrtApi function table obtained for one API version, and one
/// typed wrapper per function PolyNet calls. The raw table is private; every wrapper of a status-returning function
/// passes the status to <see cref="Check"/>, the single place that turns an error into an <see cref="OrtException"/>
/// and releases the status, so no caller can forget either.
///
/// Ownership rules (decided here, once): wrappers that receive an owned object return an <see cref="OrtHandle"/>;
/// wrappers that receive borrowed pointers (the default allocator, EP devices, tensor info cast from a type info,
/// symbolic dimension names) return IntPtr or copies and say so. Strings returned by ORT through an allocator are
/// copied to managed strings and freed before the wrapper returns.
/// </summary>
internal sealed unsafe class OrtApi
{
    private static OrtApi? _current;
    private readonly IntPtr* _t;

    internal OrtApi(IntPtr* table, uint apiVersion)
    {
        _t = table;
        ApiVersion = apiVersion;
    }

    /// <summary>The table of the loaded library (set once by <see cref="OrtRuntime"/>).</summary>
    public static OrtApi Current => _current ?? throw new InvalidOperationException("ONNX Runtime has not been loaded (OrtRuntime.Initialize)");
    internal static void SetCurrent(OrtApi api) => _current = api;

    /// <summary>The API version this table was obtained for; functions added later are unavailable.</summary>
    public uint ApiVersion { get; }

    public bool Has(int index) => OrtApiIndex.Since(index) <= ApiVersion;

    private IntPtr F(int index, [CallerMemberName] string function = "")
    {
        if (!Has(index))
            throw new PolyNetException($"ONNX Runtime's {function} needs API version {OrtApiIndex.Since(index)} (ONNX Runtime 1.{OrtApiIndex.Since(index)}); the loaded library offers {ApiVersion}", ExitCodes.RunnerFailed);
        return _t[index];
    }

    /// <summary>The one status check: a non-null status becomes an exception carrying ORT's code and message.</summary>
    private void Check(IntPtr status, [CallerMemberName] string function = "")
    {
        if (status == IntPtr.Zero) return;
        var code = ((delegate* unmanaged<IntPtr, int>)_t[OrtApiIndex.GetErrorCode])(status);
        var msg = Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)_t[OrtApiIndex.GetErrorMessage])(status)) ?? "";
        ((delegate* unmanaged<IntPtr, void>)_t[OrtApiIndex.ReleaseStatus])(status);
        throw new OrtException((OrtErrorCode)code, msg, function);
    }

    internal void Release(int index, IntPtr p) => ((delegate* unmanaged<IntPtr, void>)_t[index])(p);

    /// <summary>Takes ownership of an OrtValue that ORT returned through an out array (Run's outputs).</summary>
    internal static OrtValueHandle OwnValue(IntPtr p) => Own<OrtValueHandle>(p);

    private static T Own<T>(IntPtr p) where T : OrtHandle, new()
    {
        var h = new T();
        h.Attach(p);
        return h;
    }

    // ---- environment and library facts -------------------------------------------------------------------------

    public OrtEnvHandle CreateEnvWithCustomLogger(delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, IntPtr, IntPtr, void> logger, int level, string logId)
    {
        using var id = new Utf8Z(logId);
        IntPtr env;
        Check(((delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CreateEnvWithCustomLogger))(
            (IntPtr)logger, IntPtr.Zero, level, id.P, &env));
        return Own<OrtEnvHandle>(env);
    }

    public string[] GetAvailableProviders()
    {
        IntPtr list;
        int n;
        Check(((delegate* unmanaged<IntPtr*, int*, IntPtr>)F(OrtApiIndex.GetAvailableProviders))(&list, &n));
        try
        {
            var result = new string[n];
            for (int i = 0; i < n; i++) result[i] = Marshal.PtrToStringUTF8(((IntPtr*)list)[i]) ?? "";
            return result;
        }
        finally
        {
            Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.ReleaseAvailableProviders))(list, n), nameof(OrtApiIndex.ReleaseAvailableProviders));
        }
    }

    public string GetBuildInfoString()
        => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)F(OrtApiIndex.GetBuildInfoString))()) ?? "";

    // ---- session options ---------------------------------------------------------------------------------------

    public OrtSessionOptionsHandle CreateSessionOptions()
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)F(OrtApiIndex.CreateSessionOptions))(&p));
        return Own<OrtSessionOptionsHandle>(p);
    }

    public void SetSessionGraphOptimizationLevel(OrtSessionOptionsHandle o, int level)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.SetSessionGraphOptimizationLevel))(o.Ptr, level));

    public void SetIntraOpNumThreads(OrtSessionOptionsHandle o, int n)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.SetIntraOpNumThreads))(o.Ptr, n));

    public void SetInterOpNumThreads(OrtSessionOptionsHandle o, int n)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.SetInterOpNumThreads))(o.Ptr, n));

    public void SetSessionExecutionMode(OrtSessionOptionsHandle o, int mode)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.SetSessionExecutionMode))(o.Ptr, mode));

    public void SetSessionLogSeverityLevel(OrtSessionOptionsHandle o, int level)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.SetSessionLogSeverityLevel))(o.Ptr, level));

    public void SetSessionLogId(OrtSessionOptionsHandle o, string id)
    {
        using var s = new Utf8Z(id);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.SetSessionLogId))(o.Ptr, s.P));
    }

    public void AddSessionConfigEntry(OrtSessionOptionsHandle o, string key, string value)
    {
        using var k = new Utf8Z(key);
        using var v = new Utf8Z(value);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.AddSessionConfigEntry))(o.Ptr, k.P, v.P));
    }

    public void DisableMemPattern(OrtSessionOptionsHandle o)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.DisableMemPattern))(o.Ptr));

    public void EnableCpuMemArena(OrtSessionOptionsHandle o)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.EnableCpuMemArena))(o.Ptr));

    public void DisableCpuMemArena(OrtSessionOptionsHandle o)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.DisableCpuMemArena))(o.Ptr));

    public void EnableProfiling(OrtSessionOptionsHandle o, string prefix)
    {
        using var s = new Utf8Z(prefix);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.EnableProfiling))(o.Ptr, s.P));
    }

    public void SetOptimizedModelFilePath(OrtSessionOptionsHandle o, string path)
    {
        using var s = new Utf8Z(path);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.SetOptimizedModelFilePath))(o.Ptr, s.P));
    }

    public void SetDeterministicCompute(OrtSessionOptionsHandle o, bool on)
        => Check(((delegate* unmanaged<IntPtr, byte, IntPtr>)F(OrtApiIndex.SetDeterministicCompute))(o.Ptr, on ? (byte)1 : (byte)0));

    /// <summary>Appends a provider by name (SessionOptionsAppendExecutionProvider: XNNPACK, OpenVINO, ...).</summary>
    public void SessionOptionsAppendExecutionProvider(OrtSessionOptionsHandle o, string provider, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        using var name = new Utf8Z(provider);
        using var kv = new Utf8Pairs(options);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.SessionOptionsAppendExecutionProvider))(
            o.Ptr, name.P, kv.Keys, kv.Values, (nuint)options.Count));
    }

    // ---- CUDA and TensorRT providers (classic path, GPU builds) ------------------------------------------------

    public OrtCudaProviderOptionsHandle CreateCUDAProviderOptions()
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)F(OrtApiIndex.CreateCUDAProviderOptions))(&p));
        return Own<OrtCudaProviderOptionsHandle>(p);
    }

    public void UpdateCUDAProviderOptions(OrtCudaProviderOptionsHandle h, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        using var kv = new Utf8Pairs(options);
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.UpdateCUDAProviderOptions))(h.Ptr, kv.Keys, kv.Values, (nuint)options.Count));
    }

    public void SessionOptionsAppendExecutionProvider_CUDA_V2(OrtSessionOptionsHandle o, OrtCudaProviderOptionsHandle h)
        => Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.SessionOptionsAppendExecutionProvider_CUDA_V2))(o.Ptr, h.Ptr));

    public OrtTensorRtProviderOptionsHandle CreateTensorRTProviderOptions()
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)F(OrtApiIndex.CreateTensorRTProviderOptions))(&p));
        return Own<OrtTensorRtProviderOptionsHandle>(p);
    }

    public void UpdateTensorRTProviderOptions(OrtTensorRtProviderOptionsHandle h, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        using var kv = new Utf8Pairs(options);
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.UpdateTensorRTProviderOptions))(h.Ptr, kv.Keys, kv.Values, (nuint)options.Count));
    }

    public void SessionOptionsAppendExecutionProvider_TensorRT_V2(OrtSessionOptionsHandle o, OrtTensorRtProviderOptionsHandle h)
        => Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.SessionOptionsAppendExecutionProvider_TensorRT_V2))(o.Ptr, h.Ptr));

    // ---- plugin execution providers (ORT >= 1.22) --------------------------------------------------------------

    public void RegisterExecutionProviderLibrary(OrtEnvHandle env, string registrationName, string path)
    {
        using var n = new Utf8Z(registrationName);
        using var p = new Utf8Z(path);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.RegisterExecutionProviderLibrary))(env.Ptr, n.P, p.P));
    }

    /// <summary>The EP devices ORT knows. The pointers are borrowed from the environment: valid while it lives, never released.</summary>
    public IntPtr[] GetEpDevices(OrtEnvHandle env)
    {
        IntPtr list;
        nuint n;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint*, IntPtr>)F(OrtApiIndex.GetEpDevices))(env.Ptr, &list, &n));
        var result = new IntPtr[(int)n];
        for (int i = 0; i < result.Length; i++) result[i] = ((IntPtr*)list)[i];
        return result;
    }

    public string EpDevice_EpName(IntPtr device) => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.EpDevice_EpName))(device)) ?? "";
    public string EpDevice_EpVendor(IntPtr device) => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.EpDevice_EpVendor))(device)) ?? "";
    public IntPtr EpDevice_Device(IntPtr device) => ((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.EpDevice_Device))(device);
    public int HardwareDevice_Type(IntPtr hw) => ((delegate* unmanaged<IntPtr, int>)F(OrtApiIndex.HardwareDevice_Type))(hw);
    public uint HardwareDevice_VendorId(IntPtr hw) => ((delegate* unmanaged<IntPtr, uint>)F(OrtApiIndex.HardwareDevice_VendorId))(hw);
    public uint HardwareDevice_DeviceId(IntPtr hw) => ((delegate* unmanaged<IntPtr, uint>)F(OrtApiIndex.HardwareDevice_DeviceId))(hw);
    public string HardwareDevice_Vendor(IntPtr hw) => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.HardwareDevice_Vendor))(hw)) ?? "";

    public void SessionOptionsAppendExecutionProvider_V2(OrtSessionOptionsHandle o, OrtEnvHandle env, IntPtr[] devices, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        using var kv = new Utf8Pairs(options);
        fixed (IntPtr* d = devices)
            Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, nuint, IntPtr*, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.SessionOptionsAppendExecutionProvider_V2))(
                o.Ptr, env.Ptr, d, (nuint)devices.Length, kv.Keys, kv.Values, (nuint)options.Count));
    }

    // ---- sessions ----------------------------------------------------------------------------------------------

    public OrtSessionHandle CreateSession(OrtEnvHandle env, string modelPath, OrtSessionOptionsHandle o)
    {
        using var p = new Utf8Z(modelPath);
        IntPtr s;
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CreateSession))(env.Ptr, p.P, o.Ptr, &s));
        return Own<OrtSessionHandle>(s);
    }

    public OrtSessionHandle CreateSessionFromArray(OrtEnvHandle env, byte[] model, OrtSessionOptionsHandle o)
    {
        IntPtr s;
        fixed (byte* m = model)
            Check(((delegate* unmanaged<IntPtr, byte*, nuint, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CreateSessionFromArray))(env.Ptr, m, (nuint)model.Length, o.Ptr, &s));
        return Own<OrtSessionHandle>(s);
    }

    public int SessionGetInputCount(OrtSessionHandle s)
    {
        nuint n;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)F(OrtApiIndex.SessionGetInputCount))(s.Ptr, &n));
        return (int)n;
    }

    public int SessionGetOutputCount(OrtSessionHandle s)
    {
        nuint n;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)F(OrtApiIndex.SessionGetOutputCount))(s.Ptr, &n));
        return (int)n;
    }

    public string SessionGetInputName(OrtSessionHandle s, int i)
    {
        IntPtr name;
        var alloc = GetAllocatorWithDefaultOptions();
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.SessionGetInputName))(s.Ptr, (nuint)i, alloc, &name));
        return TakeAllocatedString(alloc, name);
    }

    public string SessionGetOutputName(OrtSessionHandle s, int i)
    {
        IntPtr name;
        var alloc = GetAllocatorWithDefaultOptions();
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.SessionGetOutputName))(s.Ptr, (nuint)i, alloc, &name));
        return TakeAllocatedString(alloc, name);
    }

    public OrtTypeInfoHandle SessionGetInputTypeInfo(OrtSessionHandle s, int i)
    {
        IntPtr ti;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)F(OrtApiIndex.SessionGetInputTypeInfo))(s.Ptr, (nuint)i, &ti));
        return Own<OrtTypeInfoHandle>(ti);
    }

    public OrtTypeInfoHandle SessionGetOutputTypeInfo(OrtSessionHandle s, int i)
    {
        IntPtr ti;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)F(OrtApiIndex.SessionGetOutputTypeInfo))(s.Ptr, (nuint)i, &ti));
        return Own<OrtTypeInfoHandle>(ti);
    }

    /// <summary>ORT's Run. Name and value arrays are the caller's (pinned for the call); output values are owned by the caller afterwards.</summary>
    public void Run(OrtSessionHandle s, OrtRunOptionsHandle? ro, IntPtr* inNames, IntPtr* inValues, int inCount, IntPtr* outNames, int outCount, IntPtr* outValues)
        => Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, IntPtr*, nuint, IntPtr*, nuint, IntPtr*, IntPtr>)F(OrtApiIndex.Run))(
            s.Ptr, ro?.Ptr ?? IntPtr.Zero, inNames, inValues, (nuint)inCount, outNames, (nuint)outCount, outValues));

    public string SessionEndProfiling(OrtSessionHandle s)
    {
        IntPtr p;
        var alloc = GetAllocatorWithDefaultOptions();
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.SessionEndProfiling))(s.Ptr, alloc, &p));
        return TakeAllocatedString(alloc, p);
    }

    // ---- run options -------------------------------------------------------------------------------------------

    public OrtRunOptionsHandle CreateRunOptions()
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)F(OrtApiIndex.CreateRunOptions))(&p));
        return Own<OrtRunOptionsHandle>(p);
    }

    public void RunOptionsSetRunLogSeverityLevel(OrtRunOptionsHandle ro, int level)
        => Check(((delegate* unmanaged<IntPtr, int, IntPtr>)F(OrtApiIndex.RunOptionsSetRunLogSeverityLevel))(ro.Ptr, level));

    /// <summary>Asks runs using <paramref name="ro"/> to stop as soon as possible (safe from another thread).</summary>
    public void RunOptionsSetTerminate(OrtRunOptionsHandle ro)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.RunOptionsSetTerminate))(ro.Ptr));

    public void AddRunConfigEntry(OrtRunOptionsHandle ro, string key, string value)
    {
        using var k = new Utf8Z(key);
        using var v = new Utf8Z(value);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.AddRunConfigEntry))(ro.Ptr, k.P, v.P));
    }

    // ---- type information --------------------------------------------------------------------------------------

    public int GetOnnxTypeFromTypeInfo(IntPtr typeInfo)
    {
        int t;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)F(OrtApiIndex.GetOnnxTypeFromTypeInfo))(typeInfo, &t));
        return t;
    }

    /// <summary>Borrowed: the tensor info lives inside <paramref name="typeInfo"/>; null when it is not a tensor.</summary>
    public IntPtr CastTypeInfoToTensorInfo(IntPtr typeInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CastTypeInfoToTensorInfo))(typeInfo, &p));
        return p;
    }

    /// <summary>Borrowed, like <see cref="CastTypeInfoToTensorInfo"/>.</summary>
    public IntPtr CastTypeInfoToSequenceTypeInfo(IntPtr typeInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CastTypeInfoToSequenceTypeInfo))(typeInfo, &p));
        return p;
    }

    public OrtTypeInfoHandle GetSequenceElementType(IntPtr sequenceTypeInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.GetSequenceElementType))(sequenceTypeInfo, &p));
        return Own<OrtTypeInfoHandle>(p);
    }

    /// <summary>Borrowed, like <see cref="CastTypeInfoToTensorInfo"/>.</summary>
    public IntPtr CastTypeInfoToOptionalTypeInfo(IntPtr typeInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CastTypeInfoToOptionalTypeInfo))(typeInfo, &p));
        return p;
    }

    public OrtTypeInfoHandle GetOptionalContainedTypeInfo(IntPtr optionalTypeInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.GetOptionalContainedTypeInfo))(optionalTypeInfo, &p));
        return Own<OrtTypeInfoHandle>(p);
    }

    public int GetTensorElementType(IntPtr info)
    {
        int t;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)F(OrtApiIndex.GetTensorElementType))(info, &t));
        return t;
    }

    /// <summary>Dimensions (-1 for dynamic) and symbolic names ("" when none); the names are copied.</summary>
    public (long[] Dims, string[] Symbols) GetShape(IntPtr info)
    {
        nuint rank;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)F(OrtApiIndex.GetDimensionsCount))(info, &rank), nameof(OrtApiIndex.GetDimensionsCount));
        var dims = new long[(int)rank];
        var syms = new IntPtr[(int)rank];
        fixed (long* d = dims)
            Check(((delegate* unmanaged<IntPtr, long*, nuint, IntPtr>)F(OrtApiIndex.GetDimensions))(info, d, rank), nameof(OrtApiIndex.GetDimensions));
        fixed (IntPtr* s = syms)
            Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.GetSymbolicDimensions))(info, s, rank), nameof(OrtApiIndex.GetSymbolicDimensions));
        return (dims, syms.Select(p => p == IntPtr.Zero ? "" : Marshal.PtrToStringUTF8(p) ?? "").ToArray());
    }

    // ---- values ------------------------------------------------------------------------------------------------

    public OrtMemoryInfoHandle CreateCpuMemoryInfo()
    {
        IntPtr p;
        // OrtArenaAllocator = 1, OrtMemTypeDefault = 0
        Check(((delegate* unmanaged<int, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateCpuMemoryInfo))(1, 0, &p));
        return Own<OrtMemoryInfoHandle>(p);
    }

    public OrtMemoryInfoHandle CreateMemoryInfo(string name, int allocatorType, int deviceId, int memType)
    {
        using var n = new Utf8Z(name);
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, int, int, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateMemoryInfo))(n.P, allocatorType, deviceId, memType, &p));
        return Own<OrtMemoryInfoHandle>(p);
    }

    /// <summary>Borrowed: ORT's process-wide CPU allocator. Never released.</summary>
    public IntPtr GetAllocatorWithDefaultOptions()
    {
        IntPtr a;
        Check(((delegate* unmanaged<IntPtr*, IntPtr>)F(OrtApiIndex.GetAllocatorWithDefaultOptions))(&a));
        return a;
    }

    private string TakeAllocatedString(IntPtr allocator, IntPtr p)
    {
        try { return Marshal.PtrToStringUTF8(p) ?? ""; }
        finally { if (p != IntPtr.Zero) AllocatorFree(allocator, p); }
    }

    public void AllocatorFree(IntPtr allocator, IntPtr p)
        => Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.AllocatorFree))(allocator, p));

    /// <summary>
    /// A tensor over caller memory: ORT does not copy or free <paramref name="data"/>, which must stay valid (pinned)
    /// until the returned value is released.
    /// </summary>
    public OrtValueHandle CreateTensorWithDataAsOrtValue(OrtMemoryInfoHandle mem, void* data, nuint bytes, ReadOnlySpan<long> shape, int elementType)
    {
        IntPtr v;
        fixed (long* s = shape)
            Check(((delegate* unmanaged<IntPtr, void*, nuint, long*, nuint, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateTensorWithDataAsOrtValue))(
                mem.Ptr, data, bytes, s, (nuint)shape.Length, elementType, &v));
        return Own<OrtValueHandle>(v);
    }

    /// <summary>A tensor whose memory ORT allocates (and frees with the value).</summary>
    public OrtValueHandle CreateTensorAsOrtValue(ReadOnlySpan<long> shape, int elementType)
    {
        IntPtr v;
        var alloc = GetAllocatorWithDefaultOptions();
        fixed (long* s = shape)
            Check(((delegate* unmanaged<IntPtr, long*, nuint, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateTensorAsOrtValue))(alloc, s, (nuint)shape.Length, elementType, &v));
        return Own<OrtValueHandle>(v);
    }

    public void FillStringTensor(OrtValueHandle v, string[] strings)
    {
        var ptrs = new IntPtr[strings.Length];
        try
        {
            for (int i = 0; i < strings.Length; i++) ptrs[i] = Marshal.StringToCoTaskMemUTF8(strings[i] ?? "");
            fixed (IntPtr* p = ptrs)
                Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.FillStringTensor))(v.Ptr, p, (nuint)strings.Length));
        }
        finally
        {
            foreach (var p in ptrs) if (p != IntPtr.Zero) Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>A sequence built from <paramref name="items"/>; ORT copies what it needs, the items stay the caller's.</summary>
    public OrtValueHandle CreateSequence(IntPtr[] items)
    {
        IntPtr v;
        fixed (IntPtr* p = items)
            // ONNX_TYPE_SEQUENCE = 2
            Check(((delegate* unmanaged<IntPtr*, nuint, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateValue))(p, (nuint)items.Length, 2, &v), nameof(OrtApiIndex.CreateValue));
        return Own<OrtValueHandle>(v);
    }

    public int GetValueType(IntPtr value)
    {
        int t;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)F(OrtApiIndex.GetValueType))(value, &t));
        return t;
    }

    public bool HasValue(IntPtr value)
    {
        int b;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)F(OrtApiIndex.HasValue))(value, &b));
        return b != 0;
    }

    public OrtTensorTypeAndShapeInfoHandle GetTensorTypeAndShape(IntPtr value)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.GetTensorTypeAndShape))(value, &p));
        return Own<OrtTensorTypeAndShapeInfoHandle>(p);
    }

    /// <summary>Borrowed: the tensor's buffer, valid while the value lives.</summary>
    public void* GetTensorMutableData(IntPtr value)
    {
        void* p;
        Check(((delegate* unmanaged<IntPtr, void**, IntPtr>)F(OrtApiIndex.GetTensorMutableData))(value, &p));
        return p;
    }

    public string[] GetStrings(IntPtr value, long count)
    {
        nuint total;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)F(OrtApiIndex.GetStringTensorDataLength))(value, &total), nameof(OrtApiIndex.GetStringTensorDataLength));
        var bytes = new byte[(int)total];
        var offsets = new nuint[count];
        fixed (byte* b = bytes)
        fixed (nuint* o = offsets)
            Check(((delegate* unmanaged<IntPtr, byte*, nuint, nuint*, nuint, IntPtr>)F(OrtApiIndex.GetStringTensorContent))(value, b, total, o, (nuint)count), nameof(OrtApiIndex.GetStringTensorContent));
        var result = new string[count];
        for (long i = 0; i < count; i++)
        {
            int start = (int)offsets[i];
            int end = i + 1 < count ? (int)offsets[i + 1] : bytes.Length;
            result[i] = System.Text.Encoding.UTF8.GetString(bytes, start, end - start);
        }
        return result;
    }

    public int GetValueCount(IntPtr value)
    {
        nuint n;
        Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)F(OrtApiIndex.GetValueCount))(value, &n));
        return (int)n;
    }

    public OrtValueHandle GetValue(IntPtr value, int index)
    {
        IntPtr v;
        Check(((delegate* unmanaged<IntPtr, int, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.GetValue))(value, index, GetAllocatorWithDefaultOptions(), &v));
        return Own<OrtValueHandle>(v);
    }

    // ---- I/O binding (device-resident inputs and outputs) -------------------------------------------------------

    public OrtIoBindingHandle CreateIoBinding(OrtSessionHandle s)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.CreateIoBinding))(s.Ptr, &p));
        return Own<OrtIoBindingHandle>(p);
    }

    public void BindInput(OrtIoBindingHandle b, string name, OrtValueHandle v)
    {
        using var n = new Utf8Z(name);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.BindInput))(b.Ptr, n.P, v.Ptr));
    }

    public void BindOutputToDevice(OrtIoBindingHandle b, string name, OrtMemoryInfoHandle mem)
    {
        using var n = new Utf8Z(name);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.BindOutputToDevice))(b.Ptr, n.P, mem.Ptr));
    }

    public void RunWithBinding(OrtSessionHandle s, OrtRunOptionsHandle? ro, OrtIoBindingHandle b)
        => Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.RunWithBinding))(s.Ptr, ro?.Ptr ?? IntPtr.Zero, b.Ptr));

    public void SynchronizeBoundInputs(OrtIoBindingHandle b)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.SynchronizeBoundInputs))(b.Ptr));

    public void SynchronizeBoundOutputs(OrtIoBindingHandle b)
        => Check(((delegate* unmanaged<IntPtr, IntPtr>)F(OrtApiIndex.SynchronizeBoundOutputs))(b.Ptr));

    public void BindOutputToDevice(OrtIoBindingHandle b, string name, IntPtr borrowedMemoryInfo)
    {
        using var n = new Utf8Z(name);
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)F(OrtApiIndex.BindOutputToDevice))(b.Ptr, n.P, borrowedMemoryInfo));
    }

    /// <summary>Borrowed (owned by the session): where each input must live, in input order. Needs ORT 1.23.</summary>
    public IntPtr[] SessionGetMemoryInfoForInputs(OrtSessionHandle s, int count)
    {
        var infos = new IntPtr[count];
        fixed (IntPtr* p = infos)
            Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.SessionGetMemoryInfoForInputs))(s.Ptr, p, (nuint)count));
        return infos;
    }

    /// <summary>Borrowed (owned by the session): where each output is produced, in output order. Needs ORT 1.23.</summary>
    public IntPtr[] SessionGetMemoryInfoForOutputs(OrtSessionHandle s, int count)
    {
        var infos = new IntPtr[count];
        fixed (IntPtr* p = infos)
            Check(((delegate* unmanaged<IntPtr, IntPtr*, nuint, IntPtr>)F(OrtApiIndex.SessionGetMemoryInfoForOutputs))(s.Ptr, p, (nuint)count));
        return infos;
    }

    public string MemoryInfoGetName(IntPtr memoryInfo)
    {
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.MemoryInfoGetName))(memoryInfo, &p));
        return Marshal.PtrToStringUTF8(p) ?? "";
    }

    /// <summary>0 CPU, 1 GPU, 2 FPGA, 3 NPU.</summary>
    public int MemoryInfoGetDeviceType(IntPtr memoryInfo)
    {
        int t;
        ((delegate* unmanaged<IntPtr, int*, void>)F(OrtApiIndex.MemoryInfoGetDeviceType))(memoryInfo, &t);
        return t;
    }

    /// <summary>Borrowed (owned by the environment): the shared allocator for a memory location, or zero when none.</summary>
    public int MemoryInfoGetId(IntPtr memoryInfo)
    {
        int id;
        Check(((delegate* unmanaged<IntPtr, int*, IntPtr>)F(OrtApiIndex.MemoryInfoGetId))(memoryInfo, &id));
        return id;
    }

    /// <summary>The PCI vendor id of the memory's device (0x10DE: NVIDIA). Needs ORT 1.23.</summary>
    public uint MemoryInfoGetVendorId(IntPtr memoryInfo) => ((delegate* unmanaged<IntPtr, uint>)F(OrtApiIndex.MemoryInfoGetVendorId))(memoryInfo);

    /// <summary>
    /// A memory description by device (OrtMemoryInfoDeviceType), vendor, device id and OrtDeviceMemoryType (0: device
    /// memory, 5: host memory the device transfers from directly, i.e. pinned), with a device allocator. Needs ORT 1.23.
    /// </summary>
    public OrtMemoryInfoHandle CreateMemoryInfoV2(string name, int deviceType, uint vendorId, int deviceId, int memType)
    {
        using var n = new Utf8Z(name);
        IntPtr p;
        Check(((delegate* unmanaged<IntPtr, int, uint, int, int, nuint, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateMemoryInfo_V2))(n.P, deviceType, vendorId, deviceId, memType, 0, 0, &p));
        return Own<OrtMemoryInfoHandle>(p);
    }

    public IntPtr GetSharedAllocator(OrtEnvHandle env, IntPtr memoryInfo)
    {
        IntPtr a;
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, IntPtr>)F(OrtApiIndex.GetSharedAllocator))(env.Ptr, memoryInfo, &a));
        return a;
    }

    /// <summary>A tensor allocated by <paramref name="allocator"/> (device memory for a device allocator), freed with the value.</summary>
    public OrtValueHandle CreateTensorAsOrtValue(IntPtr allocator, ReadOnlySpan<long> shape, int elementType)
    {
        IntPtr v;
        fixed (long* s = shape)
            Check(((delegate* unmanaged<IntPtr, long*, nuint, int, IntPtr*, IntPtr>)F(OrtApiIndex.CreateTensorAsOrtValue))(allocator, s, (nuint)shape.Length, elementType, &v));
        return Own<OrtValueHandle>(v);
    }

    /// <summary>Copies tensors between devices (all sources on one device, all destinations on one), synchronously. Needs ORT 1.23.</summary>
    public void CopyTensors(OrtEnvHandle env, OrtValueHandle[] src, OrtValueHandle[] dst)
    {
        var s = src.Select(v => v.Ptr).ToArray();
        var d = dst.Select(v => v.Ptr).ToArray();
        fixed (IntPtr* ps = s)
        fixed (IntPtr* pd = d)
            Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, IntPtr, nuint, IntPtr>)F(OrtApiIndex.CopyTensors))(env.Ptr, ps, pd, IntPtr.Zero, (nuint)s.Length));
    }

    /// <summary>The bound outputs after a run; each returned handle is owned by the caller.</summary>
    public OrtValueHandle[] GetBoundOutputValues(OrtIoBindingHandle b)
    {
        IntPtr arr;
        nuint n;
        var alloc = GetAllocatorWithDefaultOptions();
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr*, nuint*, IntPtr>)F(OrtApiIndex.GetBoundOutputValues))(b.Ptr, alloc, &arr, &n));
        if (arr == IntPtr.Zero) return [];
        try
        {
            var result = new OrtValueHandle[(int)n];
            for (int i = 0; i < result.Length; i++) result[i] = Own<OrtValueHandle>(((IntPtr*)arr)[i]);
            return result;
        }
        finally
        {
            AllocatorFree(alloc, arr);
        }
    }
}

/// <summary>A NUL-terminated UTF-8 copy of a string in native memory, freed on Dispose.</summary>
internal readonly ref struct Utf8Z
{
    public readonly IntPtr P;
    public Utf8Z(string s) => P = Marshal.StringToCoTaskMemUTF8(s);
    public void Dispose() => Marshal.FreeCoTaskMem(P);
}

/// <summary>Parallel native arrays of UTF-8 keys and values (provider options), freed on Dispose.</summary>
internal sealed unsafe class Utf8Pairs : IDisposable
{
    private readonly IntPtr[] _k;
    private readonly IntPtr[] _v;
    private GCHandle _kh, _vh;

    public Utf8Pairs(IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        _k = new IntPtr[Math.Max(1, pairs.Count)];
        _v = new IntPtr[Math.Max(1, pairs.Count)];
        for (int i = 0; i < pairs.Count; i++)
        {
            _k[i] = Marshal.StringToCoTaskMemUTF8(pairs[i].Key);
            _v[i] = Marshal.StringToCoTaskMemUTF8(pairs[i].Value);
        }
        _kh = GCHandle.Alloc(_k, GCHandleType.Pinned);
        _vh = GCHandle.Alloc(_v, GCHandleType.Pinned);
    }

    public IntPtr* Keys => (IntPtr*)_kh.AddrOfPinnedObject();
    public IntPtr* Values => (IntPtr*)_vh.AddrOfPinnedObject();

    public void Dispose()
    {
        foreach (var p in _k) if (p != IntPtr.Zero) Marshal.FreeCoTaskMem(p);
        foreach (var p in _v) if (p != IntPtr.Zero) Marshal.FreeCoTaskMem(p);
        if (_kh.IsAllocated) _kh.Free();
        if (_vh.IsAllocated) _vh.Free();
    }
}
