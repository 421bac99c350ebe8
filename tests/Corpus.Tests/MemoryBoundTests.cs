using System.Diagnostics;
using System.Text.Json;
using PolyNet.Tests;
using Xunit;

namespace PolyNet.Corpus.Tests;

/// <summary>
/// The layerwise memory rule (README, "Memory"): with every tensor marked, the peak resident memory stays within the
/// plain run's peak + 2 × --max-memory + 512 MiB. Measured, not estimated: each run is a polynet process of its own,
/// which reports its peak (Linux's VmHWM) in its JSON report.
/// </summary>
public class MemoryBoundTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public void Mark_all_stays_within_the_memory_rule_on_a_model_with_gigabytes_of_activations()
    {
        // PP-OCR v4 detection at 640x640: 329 tensors, 657 MiB of values per runner, 1.3 GiB for the two.
        var entry = Corpus.Get("ppocr_v4_det");
        Corpus.Load(entry);
        using var dir = new TempDir();
        string[] common = ["run", entry.Path, "--runner", "onnxrt", "onnxrt:precision=fp16", "--input-shapes", "x:1x3x640x640", "--quiet"];
        var plain = Run([.. common, "--json", dir.File("plain.json")], dir.File("plain.json"));
        const long maxMemory = 256 * MiB;
        var marked = Run([.. common, "--mark-all", "--max-memory", "256M", "--json", dir.File("marked.json")], dir.File("marked.json"));
        var layerwise = marked.RootElement.GetProperty("layerwise");
        Assert.True(layerwise.GetProperty("chunks").GetInt32() > 1, "the values fit one chunk: the bound was not exercised");
        Assert.Equal(329, layerwise.GetProperty("marked").GetInt32());
        long basePeak = plain.RootElement.GetProperty("peak_memory_bytes").GetInt64();
        long peak = marked.RootElement.GetProperty("peak_memory_bytes").GetInt64();
        Assert.True(basePeak > 0 && peak > basePeak, $"peaks {basePeak} and {peak}");
        long bound = basePeak + 2 * maxMemory + 512 * MiB;
        Assert.True(peak <= bound, $"--mark-all --max-memory 256M peaked at {peak / MiB} MiB, beyond {bound / MiB} MiB (plain run {basePeak / MiB} MiB + 2 × 256 MiB + 512 MiB)");
    }

    /// <summary>Runs polynet (the build next to these tests) and reads its JSON report; exit 1 (a failed comparison) is expected here.</summary>
    private static JsonDocument Run(string[] args, string json)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "polynet.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); Assert.Fail("polynet did not finish in 5 minutes"); }
        Assert.True(p.ExitCode is 0 or 1, $"polynet exited {p.ExitCode}: {stderr.Result}{stdout.Result}");
        return JsonDocument.Parse(File.ReadAllText(json));
    }
}
