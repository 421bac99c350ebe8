using PolyNet.Cli;
using Xunit;

namespace PolyNet.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output and error streams.</summary>
public static class CliHarness
{
    public sealed record Result(int Code, string Out, string Err)
    {
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return new Result(code, o.ToString(), e.ToString());
    }

    /// <summary>Asserts the documented failure shape: the exit code, and exactly one stderr line naming the problem.</summary>
    public static void AssertOneLineError(Result r, int code, params string[] mentions)
    {
        Assert.True(r.Code == code, $"exit {r.Code}, expected {code}; stderr: {r.Err}");
        var lines = r.ErrLines.Where(l => !l.StartsWith("[W]", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length == 1, $"expected one error line, got:\n{r.Err}");
        Assert.StartsWith("polynet: error: ", lines[0]);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
