using System.Runtime.InteropServices;

namespace PolyNet.Runners.Native;

/// <summary>
/// Owner of one native ONNX Runtime object. Each subclass names the OrtApi Release function that frees it;
/// disposal (or finalization) calls it exactly once. Rule for the whole binding: a pointer ORT hands over with
/// ownership goes into one of these immediately, inside the wrapper that received it; pointers ORT keeps
/// (the default allocator, EP devices, tensor info cast from a type info) are never wrapped.
/// </summary>
public abstract class OrtHandle : SafeHandle
{
    private static long _live;
    private readonly int _release;

    protected OrtHandle(int releaseIndex) : base(IntPtr.Zero, ownsHandle: true) => _release = releaseIndex;

    /// <summary>How many native objects PolyNet owns right now (all kinds): a leak check for tests and diagnostics.</summary>
    public static long LiveCount => Interlocked.Read(ref _live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal void Attach(IntPtr p)
    {
        SetHandle(p);
        if (p != IntPtr.Zero) Interlocked.Increment(ref _live);
    }

    /// <summary>The raw pointer, for a native call that does not outlive this handle.</summary>
    internal IntPtr Ptr => IsClosed ? throw new ObjectDisposedException(GetType().Name) : handle;

    protected override bool ReleaseHandle()
    {
        OrtApi.Current.Release(_release, handle);
        Interlocked.Decrement(ref _live);
        return true;
    }
}

public sealed class OrtEnvHandle() : OrtHandle(OrtApiIndex.ReleaseEnv);
public sealed class OrtSessionOptionsHandle() : OrtHandle(OrtApiIndex.ReleaseSessionOptions);
public sealed class OrtSessionHandle() : OrtHandle(OrtApiIndex.ReleaseSession);
public sealed class OrtValueHandle() : OrtHandle(OrtApiIndex.ReleaseValue);
public sealed class OrtTypeInfoHandle() : OrtHandle(OrtApiIndex.ReleaseTypeInfo);
public sealed class OrtTensorTypeAndShapeInfoHandle() : OrtHandle(OrtApiIndex.ReleaseTensorTypeAndShapeInfo);
public sealed class OrtMemoryInfoHandle() : OrtHandle(OrtApiIndex.ReleaseMemoryInfo);
public sealed class OrtRunOptionsHandle() : OrtHandle(OrtApiIndex.ReleaseRunOptions);
public sealed class OrtIoBindingHandle() : OrtHandle(OrtApiIndex.ReleaseIoBinding);
public sealed class OrtCudaProviderOptionsHandle() : OrtHandle(OrtApiIndex.ReleaseCUDAProviderOptions);
public sealed class OrtTensorRtProviderOptionsHandle() : OrtHandle(OrtApiIndex.ReleaseTensorRTProviderOptions);
