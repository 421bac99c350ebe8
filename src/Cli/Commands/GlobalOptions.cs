using System.CommandLine;
using PolyNet.Runners.Native;

namespace PolyNet.Cli.Commands;

/// <summary>The options every command takes (--ort-library, --verbose, --quiet), read by name, and the exit code of an interruption.</summary>
internal static class GlobalOptions
{
    /// <summary>Ctrl-C or SIGTERM: `suite` and `reduce` keep what finished.</summary>
    public const int Interrupted = 130;

    /// <summary>The options every command takes, made afresh for each command tree (System.CommandLine's symbols are not shared between trees).</summary>
    public static Option[] Create() =>
    [
        new Option<string?>("--ort-library")
        {
            Description = $"ONNX Runtime library to use (default: ${OrtRuntime.LibraryEnvironmentVariable}, else the one ./setup.sh fetched)",
            HelpName = "PATH",
            Recursive = true,
        },
        new Option<double?>("--timeout")
        {
            Description = "Longest one inference may take, in seconds (run, bench, suite, reduce's checks, calib): beyond it ONNX Runtime is stopped and the command exits 3 naming the runner",
            HelpName = "SECONDS",
            Recursive = true,
        },
        new Option<bool>("--verbose", "-v") { Description = "More detail: every metric for passing outputs, timings per inference, ORT warnings", Recursive = true },
        new Option<bool>("--quiet", "-q") { Description = "Only failures and the summary", Recursive = true },
    ];

    public static string? OrtLibrary(ParseResult p) => p.GetValue<string?>("--ort-library");
    public static double? Timeout(ParseResult p) => p.GetValue<double?>("--timeout");

    /// <summary>The commands that run inferences, which --timeout limits.</summary>
    private static readonly HashSet<string> Timed = ["run", "bench", "suite run", "reduce", "reduce-worker", "calib generate", "calib sensitivity", "surgeon sanitize"];

    /// <summary>The warning for a --timeout given to a command that runs no inference; null where it applies.</summary>
    public static string? TimeoutChangesNothing(ParseResult p)
    {
        if (Timeout(p) is null) return null;
        var names = new List<string>();
        for (var r = p.CommandResult; r is not null && r.Parent is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Command.Name);
        var command = string.Join(' ', names);
        return Timed.Contains(command) ? null : $"--timeout limits how long one inference may take; 'polynet {command}' runs none, so it changes nothing";
    }
    public static bool Verbose(ParseResult p) => p.GetValue<bool>("--verbose");
    public static bool Quiet(ParseResult p) => p.GetValue<bool>("--quiet");
}
