namespace PolyNet.Jobs;

/// <summary>What a log line is for, so that readers choose by kind rather than by text.</summary>
public enum LogLevel
{
    /// <summary>How far along a job is, with timings ("ready in 3.2 ms"): shown on a terminal, left out of reports of record.</summary>
    Progress,
    /// <summary>Facts and decisions worth keeping: inputs used, runner notes.</summary>
    Info,
    Warning,
    /// <summary>Detail on request (--verbose).</summary>
    Verbose,
}

/// <summary>One line a job logged.</summary>
public sealed record LogEntry(LogLevel Level, string Message);

/// <summary>Where jobs report progress and decisions. Jobs never write to the console themselves.</summary>
public interface IJobLog
{
    void Write(LogLevel level, string message);
}

/// <summary>The levels as methods.</summary>
public static class JobLogExtensions
{
    public static void Progress(this IJobLog log, string message) => log.Write(LogLevel.Progress, message);
    public static void Info(this IJobLog log, string message) => log.Write(LogLevel.Info, message);
    public static void Warning(this IJobLog log, string message) => log.Write(LogLevel.Warning, message);
    public static void Verbose(this IJobLog log, string message) => log.Write(LogLevel.Verbose, message);

    /// <summary>
    /// A runner's own messages (ONNX Runtime's) into the job log: errors as warnings, the rest as verbose lines, each
    /// naming the runner. A failed node's error ("Non-zero status code returned while running ...") is what the failed
    /// call returns too, and becomes the error PolyNet reports: logged again it would be said twice, so it is verbose.
    /// </summary>
    public static Action<Runners.Native.OrtLogLevel, string> ForRunner(this IJobLog log, Runners.Specs.RunnerSpec runner)
        => (level, message) => log.Write(level >= Runners.Native.OrtLogLevel.Error && !message.StartsWith(FailedNode, StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Verbose,
            $"[ORT {level}] {runner.Name}: {message}");

    private const string FailedNode = "Non-zero status code returned while running";
}

/// <summary>A log that keeps everything in memory (tests, and callers that print later). Thread-safe.</summary>
public sealed class MemoryJobLog : IJobLog
{
    private readonly List<LogEntry> _lines = [];

    public IReadOnlyList<LogEntry> Lines
    {
        get { lock (_lines) return _lines.ToList(); }
    }

    public void Write(LogLevel level, string message)
    {
        lock (_lines) _lines.Add(new LogEntry(level, message));
    }
}
