namespace PolyNet.Runners.Native;

/// <summary>ONNX Runtime's error codes (OrtErrorCode in onnxruntime_c_api.h).</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
}

/// <summary>
/// An error status returned by an ONNX Runtime C API call. Every status-returning call in PolyNet goes through
/// <see cref="OrtApi"/>'s one check, which turns a non-null status into this exception (and releases the status).
/// Exit code: <see cref="ExitCodes.RunnerFailed"/>.
/// </summary>
public sealed class OrtException : PolyNetException
{
    public OrtException(OrtErrorCode code, string ortMessage, string function)
        : base($"ONNX Runtime {function} failed ({code}): {OneLine(ortMessage)}", ExitCodes.RunnerFailed)
    {
        Code = code;
        OrtMessage = ortMessage;
        Function = function;
    }

    public OrtErrorCode Code { get; }
    /// <summary>ORT's own message, unchanged.</summary>
    public string OrtMessage { get; }
    /// <summary>The C API function that failed.</summary>
    public string Function { get; }

    internal static string OneLine(string s)
    {
        var t = s.Replace("\r", " ").Replace('\n', ' ').Trim();
        while (t.Contains("  ", StringComparison.Ordinal)) t = t.Replace("  ", " ", StringComparison.Ordinal);
        return t;
    }
}
