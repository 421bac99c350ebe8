// The positions of ONNX Runtime's C API functions in the OrtApi table (onnxruntime_c_api.h, struct OrtApi).
// Facts of ORT's ABI: the table only grows, entries never move, so a position holds for every later version.
// `Since` gives the API version (= ORT minor version) that added each entry PolyNet uses beyond 1.22.
// Only the functions PolyNet calls are listed.

namespace PolyNet.Runners.Native;

internal static class OrtApiIndex
{
    public const int CreateStatus = 0;
    public const int GetErrorCode = 1;
    public const int GetErrorMessage = 2;
    public const int CreateEnv = 3;
    public const int CreateEnvWithCustomLogger = 4;
    public const int CreateSession = 7;
    public const int CreateSessionFromArray = 8;
    public const int Run = 9;
    public const int CreateSessionOptions = 10;
    public const int SetOptimizedModelFilePath = 11;
    public const int SetSessionExecutionMode = 13;
    public const int EnableProfiling = 14;
    public const int DisableMemPattern = 17;
    public const int EnableCpuMemArena = 18;
    public const int DisableCpuMemArena = 19;
    public const int SetSessionLogId = 20;
    public const int SetSessionLogSeverityLevel = 22;
    public const int SetSessionGraphOptimizationLevel = 23;
    public const int SetIntraOpNumThreads = 24;
    public const int SetInterOpNumThreads = 25;
    public const int SessionGetInputCount = 30;
    public const int SessionGetOutputCount = 31;
    public const int SessionGetInputTypeInfo = 33;
    public const int SessionGetOutputTypeInfo = 34;
    public const int SessionGetInputName = 36;
    public const int SessionGetOutputName = 37;
    public const int CreateRunOptions = 39;
    public const int RunOptionsSetRunLogSeverityLevel = 41;
    public const int RunOptionsSetTerminate = 46;
    public const int CreateTensorAsOrtValue = 48;
    public const int CreateTensorWithDataAsOrtValue = 49;
    public const int IsTensor = 50;
    public const int GetTensorMutableData = 51;
    public const int FillStringTensor = 52;
    public const int GetStringTensorDataLength = 53;
    public const int GetStringTensorContent = 54;
    public const int CastTypeInfoToTensorInfo = 55;
    public const int GetOnnxTypeFromTypeInfo = 56;
    public const int GetTensorElementType = 60;
    public const int GetDimensionsCount = 61;
    public const int GetDimensions = 62;
    public const int GetSymbolicDimensions = 63;
    public const int GetTensorShapeElementCount = 64;
    public const int GetTensorTypeAndShape = 65;
    public const int GetValueType = 67;
    public const int CreateCpuMemoryInfo = 69;
    public const int AllocatorFree = 76;
    public const int GetAllocatorWithDefaultOptions = 78;
    public const int GetValue = 80;
    public const int GetValueCount = 81;
    public const int CreateValue = 82;
    public const int CastTypeInfoToSequenceTypeInfo = 104;
    public const int GetSequenceElementType = 107;
    public const int ReleaseEnv = 92;
    public const int ReleaseStatus = 93;
    public const int ReleaseMemoryInfo = 94;
    public const int ReleaseSession = 95;
    public const int ReleaseValue = 96;
    public const int ReleaseRunOptions = 97;
    public const int ReleaseTypeInfo = 98;
    public const int ReleaseTensorTypeAndShapeInfo = 99;
    public const int ReleaseSessionOptions = 100;
    public const int SessionEndProfiling = 110;
    public const int GetAvailableProviders = 125;
    public const int ReleaseAvailableProviders = 126;
    public const int AddSessionConfigEntry = 130;
    public const int AddRunConfigEntry = 165;
    public const int CreateIoBinding = 134;
    public const int ReleaseIoBinding = 135;
    public const int BindInput = 136;
    public const int BindOutput = 137;
    public const int BindOutputToDevice = 138;
    public const int GetBoundOutputValues = 140;
    public const int RunWithBinding = 133;
    public const int ClearBoundInputs = 141;
    public const int ClearBoundOutputs = 142;
    public const int SynchronizeBoundInputs = 202;
    public const int SynchronizeBoundOutputs = 203;
    public const int CreateMemoryInfo = 68;
    public const int HasValue = 192;
    public const int CastTypeInfoToOptionalTypeInfo = 250;
    public const int GetOptionalContainedTypeInfo = 251;
    public const int GetBuildInfoString = 254;
    public const int SessionOptionsAppendExecutionProvider_CUDA_V2 = 204;
    public const int CreateCUDAProviderOptions = 205;
    public const int UpdateCUDAProviderOptions = 206;
    public const int ReleaseCUDAProviderOptions = 208;
    public const int SessionOptionsAppendExecutionProvider_TensorRT_V2 = 170;
    public const int CreateTensorRTProviderOptions = 171;
    public const int UpdateTensorRTProviderOptions = 172;
    public const int ReleaseTensorRTProviderOptions = 174;
    public const int SessionOptionsAppendExecutionProvider = 216;
    public const int RegisterExecutionProviderLibrary = 301;
    public const int UnregisterExecutionProviderLibrary = 302;
    public const int GetEpDevices = 303;
    public const int SessionOptionsAppendExecutionProvider_V2 = 304;
    public const int EpDevice_EpName = 312;
    public const int EpDevice_EpVendor = 313;
    public const int EpDevice_Device = 316;
    public const int HardwareDevice_Type = 307;
    public const int HardwareDevice_VendorId = 308;
    public const int HardwareDevice_DeviceId = 310;
    public const int HardwareDevice_Vendor = 309;
    public const int GetTensorSizeInBytes = 318;
    public const int CopyTensors = 386;
    public const int MemoryInfoGetName = 71;
    public const int MemoryInfoGetDeviceType = 225;
    public const int MemoryInfoGetId = 72;
    public const int CreateMemoryInfo_V2 = 320;
    public const int MemoryInfoGetVendorId = 322;
    public const int GetSharedAllocator = 376;
    public const int SessionGetMemoryInfoForInputs = 380;
    public const int SessionGetMemoryInfoForOutputs = 381;
    public const int SetDeterministicCompute = 273;

    /// <summary>The API version that introduced the entry at <paramref name="index"/> (for entries PolyNet uses).</summary>
    public static int Since(int index) => index switch
    {
        >= 424 => 29,
        >= 422 => 28,
        >= 419 => 27,
        >= 415 => 25,
        >= 390 => 24,
        >= 318 => 23,
        >= 285 => 22,
        _ => 1,
    };
}
