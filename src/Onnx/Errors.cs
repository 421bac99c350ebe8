namespace PolyNet;

/// <summary>
/// The process exit codes every PolyNet command uses. They are part of the CLI's contract (README, "Exit codes").
/// </summary>
public static class ExitCodes
{
    /// <summary>Everything compared equal within tolerance (or the command simply succeeded).</summary>
    public const int Success = 0;
    /// <summary>At least one comparison failed: the runners disagree beyond the tolerances.</summary>
    public const int Mismatch = 1;
    /// <summary>Bad usage or bad input: a missing or malformed file, an unknown name, a bad option value.</summary>
    public const int BadInput = 2;
    /// <summary>A runner could not be created or failed while running (ONNX Runtime error, missing provider).</summary>
    public const int RunnerFailed = 3;
}

/// <summary>
/// Base of every error PolyNet reports to a user. The message is one line, names the file, tensor or node
/// concerned and what is wrong; the CLI prints it as is and exits with <see cref="ExitCode"/>.
/// </summary>
public class PolyNetException : Exception
{
    public PolyNetException(string message, int exitCode, Exception? inner = null) : base(message, inner)
        => ExitCode = exitCode;

    /// <summary>The exit code the CLI ends with when this error reaches it (see <see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; }
}

/// <summary>Bad input from the user: a file that is missing or malformed, an unknown name, a shape that does not fit.</summary>
public class InvalidInputException : PolyNetException
{
    public InvalidInputException(string message, Exception? inner = null) : base(message, ExitCodes.BadInput, inner) { }

    /// <summary>An error about one file: "FILE: problem".</summary>
    public static InvalidInputException ForFile(string path, string problem, Exception? inner = null)
        => new($"{path}: {problem}", inner);
}
