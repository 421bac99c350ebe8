using System.CommandLine;
using PolyNet.Cli.Commands;
using PolyNet.Runners.Native;

namespace PolyNet.Cli;

/// <summary>
/// Builds the command tree and runs it with injected writers, so tests capture everything. Errors reach the user
/// as one line on stderr, "polynet: error: ...", with the exit code of <see cref="ExitCodes"/>; never a stack trace.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code for a PolyNet bug (an exception PolyNet did not expect). Reported as one line too.</summary>
    public const int InternalError = 70;

    public static RootCommand Build(TextWriter output, TextWriter error, TextReader? input = null)
    {
        var root = new RootCommand("PolyNet: prove that a fast inference engine still computes what the ONNX model means.");
        foreach (var o in GlobalOptions.Create()) root.Options.Add(o);
        root.Subcommands.Add(RunCommand.Create(output, error));
        root.Subcommands.Add(CompareCommand.Create(output, error));
        root.Subcommands.Add(InspectCommand.Create(output, error));
        root.Subcommands.Add(SuiteCommand.Create(output, error));
        root.Subcommands.Add(SurgeonCommand.Create(output, error));
        root.Subcommands.Add(ReduceCommand.Create(output, error));
        root.Subcommands.Add(ReduceCommand.Worker(input ?? Console.In, output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        root.Subcommands.Add(CalibCommand.Create(output, error));
        root.Subcommands.Add(RunnersCommand.Create(output));
        return root;
    }

    public static int Run(string[] args, TextWriter output, TextWriter error, TextReader? input = null)
    {
        // A file written to "-" (standard output: `--json -`) makes stdout the data's: everything for people goes to stderr.
        var human = args.Any(a => a == "-" || a.EndsWith("=-", StringComparison.Ordinal)) ? error : output;
        var root = Build(human, error, input);
        var parsed = root.Parse(MultiValue.Expand(args)); // parse errors come back in parsed.Errors, not as exceptions
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"polynet: error: {ErrorText.OneLine(string.Join("; ", parsed.Errors.Select(e => e.Message)))} (see 'polynet --help' or 'polynet COMMAND --help')");
            return ExitCodes.BadInput;
        }
        try
        {
            if (GlobalOptions.Timeout(parsed) is { } seconds)
            {
                if (!(seconds > 0) || double.IsInfinity(seconds)) throw new InvalidInputException($"--timeout {seconds}: must be a positive number of seconds");
                Runners.Native.OrtSession.RunTimeout = TimeSpan.FromSeconds(seconds);
            }
            else Runners.Native.OrtSession.RunTimeout = null;
            if (GlobalOptions.TimeoutChangesNothing(parsed) is { } unused) error.WriteLine($"[W] {unused}");
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        catch (PolyNetException e)
        {
            error.WriteLine($"polynet: error: {ErrorText.OneLine(e.Message)}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("polynet: interrupted");
            return GlobalOptions.Interrupted;
        }
        catch (IOException e)
        {
            error.WriteLine($"polynet: error: {ErrorText.OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (OutOfMemoryException)
        {
            error.WriteLine("polynet: error: out of memory (the data is larger than this machine can hold at once)");
            return ExitCodes.RunnerFailed;
        }
#pragma warning disable CA1031 // the last line of defence: a bug must still end as one line and a documented code
        catch (Exception e)
#pragma warning restore CA1031
        {
            error.WriteLine($"polynet: internal error: {e.GetType().Name}: {ErrorText.OneLine(e.Message.Split('\n')[0])} (this is a PolyNet bug; set POLYNET_DEBUG=1 for details)");
            if (Environment.GetEnvironmentVariable("POLYNET_DEBUG") == "1") error.WriteLine(e.ToString());
            return InternalError;
        }
    }
}
