namespace PolyNet.Jobs;

/// <summary>Where jobs report progress and decisions. Jobs never write to the console themselves.</summary>
public interface IJobLog
{
    void Info(string message);
    void Warning(string message);
    void Verbose(string message);
}

/// <summary>A log that keeps everything in memory (tests, and callers that print later).</summary>
public sealed class MemoryJobLog : IJobLog
{
    private readonly List<(string Level, string Message)> _lines = [];
    public IReadOnlyList<(string Level, string Message)> Lines => _lines;
    public void Info(string message) { lock (_lines) _lines.Add(("I", message)); }
    public void Warning(string message) { lock (_lines) _lines.Add(("W", message)); }
    public void Verbose(string message) { lock (_lines) _lines.Add(("V", message)); }
}
