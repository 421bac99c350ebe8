using System.Diagnostics;

namespace PolyNet.Tests;

/// <summary>Runs python3 (with numpy, from Debian's python3-numpy) for interoperability checks.</summary>
public static class Python
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        try
        {
            var (code, _, err) = Run("import numpy; print(numpy.__version__)");
            return code == 0 ? null : $"python3 with numpy is not usable here: {err.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "python3 is not installed";
        }
    });

    /// <summary>Debian's python3 (which python3-numpy belongs to) when present, else whatever python3 is on PATH.</summary>
    public static string Executable { get; } = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>Null when python3 and numpy work; else why not (the test command installs them: ./setup.sh --test).</summary>
    public static string? WhyUnavailable => Missing.Value;

    public static (int Code, string Out, string Err) Run(string script, string? workDir = null)
    {
        var psi = new ProcessStartInfo(Executable) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workDir is not null) psi.WorkingDirectory = workDir;
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); throw new TimeoutException("python3 did not finish in 120 s"); }
        return (p.ExitCode, outTask.Result, errTask.Result);
    }

    /// <summary>Runs <paramref name="script"/> and fails the test with its stderr when it does not exit 0.</summary>
    public static string Check(string script, string? workDir = null)
    {
        var (code, output, err) = Run(script, workDir);
        Xunit.Assert.True(code == 0, $"python3 failed ({code}): {err}");
        return output;
    }
}
