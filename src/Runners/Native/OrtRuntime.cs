using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolyNet.Runners.Native;

/// <summary>ONNX Runtime's log severities.</summary>
public enum OrtLogLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

/// <summary>
/// The loaded ONNX Runtime library and its one environment (ORT allows one per process). Loaded once, on first
/// use or by <see cref="Initialize"/>; lives until the process ends: the environment is never released, because
/// every session depends on it and ORT must not see it go before them.
///
/// Where the library comes from, first match wins:
/// 1. the path given to <see cref="Initialize"/> (the CLI's --ort-library);
/// 2. the POLYNET_ORT_LIBRARY environment variable;
/// 3. libonnxruntime.so.1 next to PolyNet's own binaries (the build copies the one setup fetched);
/// 4. .deps/onnxruntime/libonnxruntime.so.1 in the application folder or any folder above it or above the working folder.
/// ORT's own log messages go where <see cref="Route"/> sends them (each runner's job log), never straight to the console.
/// </summary>
public sealed unsafe class OrtRuntime
{
    public const int MinimumApiVersion = 22;
    public const int MaximumApiVersion = 29;
    public const string LibraryEnvironmentVariable = "POLYNET_ORT_LIBRARY";
    private const string DefaultName = "libonnxruntime.so.1";

    private static readonly Lock Gate = new();
    private static OrtRuntime? _instance;
    private static readonly ConcurrentDictionary<string, Action<OrtLogLevel, string>> Routes = new(StringComparer.Ordinal);
    private static long _routes;

    private readonly OrtEnvHandle _env;

    private OrtRuntime(string path, string version, OrtApi api, OrtEnvHandle env)
    {
        LibraryPath = path;
        Version = version;
        Api = api;
        _env = env;
    }

    public string LibraryPath { get; }
    /// <summary>ORT's version string, e.g. "1.30.0".</summary>
    public string Version { get; }
    public uint ApiVersion => Api.ApiVersion;
    internal OrtApi Api { get; }
    internal OrtEnvHandle Env => _env;

    /// <summary>Execution providers compiled into this build (plugin providers are not listed here).</summary>
    public IReadOnlyList<string> AvailableProviders => Api.GetAvailableProviders();

    public string BuildInfo => Api.GetBuildInfoString();

    /// <summary>The loaded runtime, loading it from the default locations on first use.</summary>
    public static OrtRuntime Current => _instance ?? Initialize(null);

    /// <summary>The least severe message ORT itself produces (fixed when the environment is created; default Warning).</summary>
    public static OrtLogLevel EnvironmentLogLevel { get; set; } = OrtLogLevel.Warning;

    public static bool IsLoaded => _instance is not null;

    /// <summary>
    /// A log id for sessions whose messages go to <paramref name="sink"/> (severity, message) until the route is
    /// disposed. ORT has one logger per process; routing by the session's log id lets concurrent jobs (a suite's
    /// cases, tests) each hear their own sessions. Errors ORT logs for no routed session go to every route.
    /// The sink is called from ORT's threads: it must be thread-safe and must not throw.
    /// </summary>
    public static LogRoute Route(Action<OrtLogLevel, string> sink)
    {
        var id = "polynet-" + Interlocked.Increment(ref _routes).ToString(CultureInfo.InvariantCulture);
        Routes[id] = sink;
        return new LogRoute(id);
    }

    /// <summary>A session log id routed to a sink; disposing it ends the route.</summary>
    public sealed class LogRoute(string id) : IDisposable
    {
        public string Id => id;
        public void Dispose() => Routes.TryRemove(id, out _);
    }

    /// <summary>
    /// Loads ONNX Runtime from <paramref name="explicitPath"/> or the default locations. A second call with a
    /// different library is an error (one ORT per process).
    /// Errors (exit 2): library not found, not loadable, not ONNX Runtime, older than 1.22.
    /// </summary>
    public static OrtRuntime Initialize(string? explicitPath)
    {
        lock (Gate)
        {
            if (_instance is not null)
            {
                if (explicitPath is not null && Path.GetFullPath(explicitPath) != _instance.LibraryPath)
                    throw new InvalidInputException($"{explicitPath}: ONNX Runtime is already loaded from {_instance.LibraryPath}; one process can use only one");
                return _instance;
            }
            var path = Locate(explicitPath);
            _instance = Load(path);
            return _instance;
        }
    }

    /// <summary>The library path that <see cref="Initialize"/> would use, or an error naming every place looked in.</summary>
    public static string Locate(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath)) return CheckFile(explicitPath, "--ort-library");
        var env = Environment.GetEnvironmentVariable(LibraryEnvironmentVariable);
        if (!string.IsNullOrEmpty(env)) return CheckFile(env, LibraryEnvironmentVariable);
        var tried = new List<string>();
        var beside = Path.Combine(AppContext.BaseDirectory, DefaultName);
        tried.Add(beside);
        if (File.Exists(beside)) return beside;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ".deps", "onnxruntime", DefaultName);
                if (File.Exists(candidate)) return candidate;
            }
            tried.Add(Path.Combine(start, "..", ".deps/onnxruntime", DefaultName));
        }
        throw new InvalidInputException(
            $"ONNX Runtime not found: no {LibraryEnvironmentVariable}, no {DefaultName} next to PolyNet ({AppContext.BaseDirectory}) or in a .deps/onnxruntime folder above it; run ./setup.sh, or point --ort-library or {LibraryEnvironmentVariable} at libonnxruntime.so");
    }

    private static string CheckFile(string path, string from)
    {
        if (Directory.Exists(path)) throw InvalidInputException.ForFile(path, $"is a folder; {from} must name the ONNX Runtime library file (libonnxruntime.so)");
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, $"no such file (from {from})");
        return Path.GetFullPath(path);
    }

    private static OrtRuntime Load(string path)
    {
        IntPtr lib;
        try
        {
            lib = NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw InvalidInputException.ForFile(path, $"cannot be loaded as a native library: {OrtException.OneLine(e.Message)}");
        }
        catch (BadImageFormatException e)
        {
            throw InvalidInputException.ForFile(path, $"is not a native library for this machine: {OrtException.OneLine(e.Message)}");
        }
        if (!NativeLibrary.TryGetExport(lib, "OrtGetApiBase", out var getApiBase))
            throw InvalidInputException.ForFile(path, "is not ONNX Runtime (it has no OrtGetApiBase)");
        var apiBase = ((delegate* unmanaged<IntPtr*>)getApiBase)();
        var version = Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)apiBase[1])()) ?? "?";
        var parts = version.Split('.');
        if (parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor) || parts[0] != "1")
            throw InvalidInputException.ForFile(path, $"reports ONNX Runtime version '{version}', which PolyNet cannot interpret");
        if (minor < MinimumApiVersion)
            throw InvalidInputException.ForFile(path, $"is ONNX Runtime {version}; PolyNet needs 1.{MinimumApiVersion} or newer");
        // ORT's API version equals its minor version; ask for the newest both sides know, so no error is printed.
        uint apiVersion = (uint)Math.Min(minor, MaximumApiVersion);
        var table = ((delegate* unmanaged<uint, IntPtr*>)apiBase[0])(apiVersion);
        if (table == null)
            throw InvalidInputException.ForFile(path, $"ONNX Runtime {version} does not provide API version {apiVersion}");
        var api = new OrtApi(table, apiVersion);
        OrtApi.SetCurrent(api);
        var env = api.CreateEnvWithCustomLogger(&OnLog, (int)EnvironmentLogLevel, "polynet");
        return new OrtRuntime(Path.GetFullPath(path), version, api, env);
    }

    /// <summary>
    /// ORT's logging callback. It runs on ORT's threads and must not let an exception reach native code, so it is
    /// the one place PolyNet catches everything: a failing sink loses that one message, nothing else.
    /// </summary>
    [UnmanagedCallersOnly]
    private static void OnLog(IntPtr param, int severity, IntPtr category, IntPtr logId, IntPtr codeLocation, IntPtr message)
    {
        try
        {
            var id = Marshal.PtrToStringUTF8(logId) ?? "";
            var text = Marshal.PtrToStringUTF8(message) ?? "";
            if (Routes.TryGetValue(id, out var sink)) sink((OrtLogLevel)severity, text);
            else if (severity >= (int)OrtLogLevel.Error)
                foreach (var s in Routes.Values) s((OrtLogLevel)severity, $"{id}: {text}");
        }
#pragma warning disable CA1031 // an exception must not unwind into ORT's native frames
        catch
        {
        }
#pragma warning restore CA1031
    }

    /// <summary>Path of an ORT provider library next to the loaded core library, or null if absent.</summary>
    public string? ProviderLibraryBeside(string fileName)
    {
        var p = Path.Combine(Path.GetDirectoryName(LibraryPath)!, fileName);
        return File.Exists(p) ? p : null;
    }
}
