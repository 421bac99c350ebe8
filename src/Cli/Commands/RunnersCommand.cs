using System.CommandLine;
using PolyNet.Runners;

namespace PolyNet.Cli.Commands;

/// <summary>`polynet runners`: every runner kind and every key it accepts.</summary>
internal static class RunnersCommand
{
    public static Command Create(TextWriter output)
    {
        var cmd = new Command("runners", "List the runner kinds for --runner and the keys each accepts.");
        cmd.SetAction(_ => Execute(output));
        return cmd;
    }

    public static int Execute(TextWriter output)
    {
        foreach (var kind in RunnerRegistry.All)
        {
            output.WriteLine($"{kind.Name}: {kind.Description}");
            foreach (var k in kind.Keys)
                output.WriteLine($"  {k.Key + "=" + k.Values,-40} {k.Description}");
            output.WriteLine($"  {"name=LABEL",-40} the configuration's name in reports");
            output.WriteLine();
        }
        return ExitCodes.Success;
    }
}
