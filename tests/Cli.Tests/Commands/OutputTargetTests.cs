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
    public void A_link_to_an_input_is_that_input_and_is_never_written_over()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("d"));
        var inputs = dir.File("d/real.npz");
        Npz.Write(inputs, new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } });
        var before = File.ReadAllBytes(inputs);
        File.CreateSymbolicLink(dir.File("d/o.onnxrt.npz"), inputs);
        File.CreateSymbolicLink(dir.File("d/alias.json"), inputs);
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--load-inputs", inputs, "--save-outputs", dir.File("d/o.npz")), ExitCodes.BadInput, "would overwrite an input");
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--load-inputs", inputs, "--json", dir.File("d/alias.json")), ExitCodes.BadInput, "alias.json", "would overwrite an input");
        Assert.Equal(before, File.ReadAllBytes(inputs));
    }

    [Fact]
    public void Reduce_refuses_artifacts_that_are_its_own_inputs_before_any_work()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("ra"));
        File.Copy(M("mlp.onnx"), dir.File("ra/reduced.onnx"));
        var before = File.ReadAllBytes(dir.File("ra/reduced.onnx"));
        var r = Run("reduce", dir.File("ra/reduced.onnx"), "--runner", "onnxrt", "--runner", "onnxrt:opt=disable", "--artifacts", dir.File("ra"));
        AssertOneLineError(r, ExitCodes.BadInput, "reduced.onnx", "would overwrite an input");
        Assert.Equal(before, File.ReadAllBytes(dir.File("ra/reduced.onnx")));
    }

    [Fact]
    public void A_suite_never_writes_a_golden_or_a_report_over_a_file_a_case_reads()
    {
        using var dir = new TempDir();
        File.Copy(M("mlp.onnx"), dir.File("mlp.onnx"));
        Npz.Write(dir.File("in.npz"), new ValueMap { { "x", TensorData.Create<float>([1, 16], new float[16]) } });
        var before = File.ReadAllBytes(dir.File("in.npz"));
        // Case c's golden is case b's inputs.
        File.WriteAllText(dir.File("s.suite.yaml"), "cases:\n  - name: b\n    model: mlp.onnx\n    inputs: {files: [in.npz]}\n  - name: c\n    model: mlp.onnx\n    golden: in.npz\n");
        AssertOneLineError(Run("suite", "run", dir.File("s.suite.yaml"), "--update-golden"), ExitCodes.BadInput, "s.suite.yaml:", "golden file in.npz is also read", "would overwrite it");
        // A report over a case's inputs or its model.
        File.WriteAllText(dir.File("t.suite.yaml"), "cases:\n  - name: b\n    model: mlp.onnx\n    inputs: {files: [in.npz]}\n");
        AssertOneLineError(Run("suite", "run", dir.File("t.suite.yaml"), "--update-golden", "--json", dir.File("in.npz")), ExitCodes.BadInput, "in.npz", "would overwrite an input");
        AssertOneLineError(Run("suite", "run", dir.File("t.suite.yaml"), "--update-golden", "--report", dir.File("mlp.onnx")), ExitCodes.BadInput, "mlp.onnx", "would overwrite an input");
        Assert.Equal(before, File.ReadAllBytes(dir.File("in.npz")));
        Assert.Equal(File.ReadAllBytes(M("mlp.onnx")), File.ReadAllBytes(dir.File("mlp.onnx")));
    }

    [Fact]
    public void Files_a_suite_or_a_data_folder_names_may_not_lead_out_through_a_symbolic_link()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("outside"));
        Directory.CreateDirectory(dir.File("s"));
        File.Copy(M("mlp.onnx"), dir.File("outside/mlp.onnx"));
        Directory.CreateSymbolicLink(dir.File("s/link"), dir.File("outside"));
        File.WriteAllText(dir.File("s/m.suite.yaml"), "cases:\n  - name: a\n    model: link/mlp.onnx\n");
        AssertOneLineError(Run("suite", "run", dir.File("s/m.suite.yaml"), "--update-golden"), ExitCodes.BadInput, "m.suite.yaml:", "model link/mlp.onnx resolves to", "through a symbolic link");
        File.Copy(M("mlp.onnx"), dir.File("s/mlp.onnx"));
        File.WriteAllText(dir.File("s/g.suite.yaml"), "cases:\n  - name: a\n    model: mlp.onnx\n    golden: link/gold.npz\n");
        AssertOneLineError(Run("suite", "run", dir.File("s/g.suite.yaml"), "--update-golden"), ExitCodes.BadInput, "golden link/gold.npz resolves to");
        Assert.False(File.Exists(dir.File("outside/gold.npz")));
        // Written as a path out of the folder, without a link, a file is the author's choice.
        File.WriteAllText(dir.File("s/up.suite.yaml"), "cases:\n  - name: a\n    model: ../outside/mlp.onnx\n");
        Assert.Equal(0, Run("suite", "run", dir.File("s/up.suite.yaml"), "--update-golden", "--quiet").Code);
        // A data folder's file that is a link out of it (to /etc/passwd, or to a valid file elsewhere) is refused unread.
        var data = dir.File("data/test_data_set_0");
        Directory.CreateDirectory(data);
        File.Copy(Path.Combine(TestPaths.Fixtures, "data", "mlp_backend", "test_data_set_0", "input_0.pb"), dir.File("outside/input_0.pb"));
        File.CreateSymbolicLink(Path.Combine(data, "input_0.pb"), dir.File("outside/input_0.pb"));
        AssertOneLineError(Run("run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--load-inputs", dir.File("data")), ExitCodes.BadInput, "input_0.pb", "through a symbolic link");
    }

    [Fact]
    public async Task A_report_written_to_stdout_has_stdout_to_itself()
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "polynet")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "run", M("mlp.onnx"), "--runner", "onnxrt", "onnxrt:opt=disable", "--json", "-" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stdout = await p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, p.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);  // nothing but the document
        Assert.True(doc.RootElement.GetProperty("passed").GetBoolean());
        Assert.Contains("[I] ", await err);  // what people read went to stderr
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
