using System.Diagnostics;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Tests;
using Xunit;
using static PolyNet.Cli.Tests.CliHarness;

namespace PolyNet.Cli.Tests.Commands;

/// <summary>What PolyNet writes respects what it writes to, and what it reads is never overwritten (issue 15's cases).</summary>
public class OutputTargetTests
{
    private static string M(string name) => TestPaths.Model(name);

    private static string FileType(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
        var s = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return s;
    }

    [Fact]
    public void A_per_runner_output_name_that_is_the_input_file_is_refused_before_any_work()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("same"));
        var inputs = dir.File("same/o.onnxrt.npz");
        Npz.Write(inputs, new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } });
        var before = File.ReadAllBytes(inputs);
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--load-inputs", inputs, "--save-outputs", dir.File("same/o.npz"));
        AssertOneLineError(r, ExitCodes.BadInput, "o.onnxrt.npz", "would overwrite an input");
        Assert.Equal(before, File.ReadAllBytes(inputs));
    }

    [Fact]
    public void An_empty_config_key_is_bad_input_not_a_runner_failure()
    {
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt:config.=1", "--runner", "onnxrt");
        AssertOneLineError(r, ExitCodes.BadInput, "config.", "needs a name after the dot");
    }

    [Fact]
    public void Control_characters_in_echoed_input_are_escaped_so_the_error_stays_one_line()
    {
        var r = Run("run", "no\nsuch\tmodel.onnx", "--runner", "onnxrt", "--runner", "onnxrt:opt=disable");
        AssertOneLineError(r, ExitCodes.BadInput, "no\\nsuch\\tmodel.onnx");
    }

    [Fact]
    public async Task A_json_report_to_a_fifo_is_written_through()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("FIFOs and /dev/stdout are Linux's");
        using var dir = new TempDir();
        var fifo = dir.File("report.fifo");
        using (var mk = Process.Start("mkfifo", [fifo])) mk.WaitForExit();
        var reader = Task.Run(() => File.ReadAllText(fifo), TestContext.Current.CancellationToken);
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--json", fifo, "-q");
        Assert.True(r.Code == 0, r.Err);
        var text = await reader.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Contains("\"comparisons\"", text);
        Assert.Equal("fifo", FileType(fifo));
    }

    [Fact]
    public void A_symbolic_link_keeps_pointing_where_it_did_and_its_target_is_replaced()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("real"));
        File.WriteAllText(dir.File("real/report.json"), "old");
        File.CreateSymbolicLink(dir.File("report.json"), dir.File("real/report.json"));
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--json", dir.File("report.json"), "-q");
        Assert.True(r.Code == 0, r.Err);
        Assert.NotNull(new FileInfo(dir.File("report.json")).LinkTarget);
        Assert.Contains("\"comparisons\"", File.ReadAllText(dir.File("real/report.json")));
    }

    [Fact]
    public void A_device_that_refuses_the_write_is_an_error_and_stays_a_device()
    {
        if (!File.Exists("/dev/full")) Assert.Skip("no /dev/full here");
        var r = Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--json", "/dev/full", "-q");
        AssertOneLineError(r, ExitCodes.BadInput, "/dev/full");
        Assert.Equal("character special file", FileType("/dev/full"));
    }

    [Fact]
    public void A_temporary_left_by_a_killed_process_is_removed_by_the_next_save()
    {
        using var dir = new TempDir();
        var stale = dir.File("o.npz.tmp-999999-0123456789abcdef");
        File.WriteAllText(stale, "left by kill -9");
        Npz.Write(dir.File("o.npz"), new ValueMap { { "x", TensorData.Create<float>([1], 1f) } });
        Assert.False(File.Exists(stale));
        Assert.Equal(["o.npz"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void An_empty_data_set_folder_from_an_interrupted_save_is_refused_not_read_as_a_sample()
    {
        using var dir = new TempDir();
        DataFiles.Save(dir.File("outs"), [new ValueMap { { "y", TensorData.Create<float>([2], 1f, 2f) } }], DataRole.Outputs);
        Directory.CreateDirectory(dir.File("outs/test_data_set_1"));
        var r = Run("compare", dir.File("outs"), dir.File("outs"));
        AssertOneLineError(r, ExitCodes.BadInput, "test_data_set_1", "holds no output_K.pb files");
    }
}
