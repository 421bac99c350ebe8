using PolyNet.Calibration;
using PolyNet.Compare;
using PolyNet.Jobs.Suite;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;
using PolyNet.Runners.Inputs;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Fuzz;

/// <summary>
/// One fuzzing target: a parser PolyNet exposes to files or text a user hands it. <see cref="Run"/> feeds one input;
/// bad input must end as PolyNet's own error with exit code 2 (<see cref="IsClean"/>); anything else is a finding.
/// </summary>
/// <param name="Name">The target's name on the command line.</param>
/// <param name="Extension">The file name the input is written under (readers pick the format by extension).</param>
/// <param name="Parse">The parser, given the path of a file that holds the input.</param>
public sealed record Target(string Name, string Extension, Action<string> Parse)
{
    /// <summary>Every target, in the order `fuzz/run.sh` runs them.</summary>
    public static readonly IReadOnlyList<Target> All =
    [
        new("npy", "x.npy", p => Npy.ReadFile(p)),
        new("npz", "x.npz", p => Npz.Read(p)),
        new("json", "x.json", p => PolygraphyJson.Read(p)),
        new("pb", "x.pb", p =>
        {
            // One file read as each kind a backend folder may hold.
            Attempt(() => BackendTestData.ReadValueFile(p, ValueKind.Tensor));
            Attempt(() => BackendTestData.ReadValueFile(p, ValueKind.Sequence));
            BackendTestData.ReadValueFile(p, ValueKind.Optional);
        }),
        new("onnx", "x.onnx", p =>
        {
            // Loading (external data validated against the model's folder), then everything `inspect model --layers
            // --attributes` prints, through the command itself: its exit code 70 is an escaped exception.
            var code = Cli.CliApp.Run(["inspect", "model", p, "--layers", "--attributes", "--no-ort-check"], TextWriter.Null, TextWriter.Null);
            if (code == 70) throw new InvalidOperationException("inspect model ended as an internal error (exit 70)");
        }),
        new("onnx-external", "x.onnx", p =>
        {
            // A model whose tensors live in files beside it: the input is the model, next to a real data file of
            // fixtures/ (mlp_external.onnx.data) and a folder link out of its folder; every reference is resolved,
            // checked and mapped into the model (--external-data load).
            var dir = Path.GetDirectoryName(Path.GetFullPath(p))!;
            var data = Path.Combine(dir, "mlp_external.onnx.data");
            if (!File.Exists(data) && Seeds.ExternalData() is { } bytes) File.WriteAllBytes(data, bytes);
            var link = Path.Combine(dir, "etcdir");
            if (!Directory.Exists(link)) Directory.CreateSymbolicLink(link, "/etc");
            var model = OnnxModel.Load(p, ExternalDataMode.Load);
            _ = model.Graph.Initializer.Sum(t => t.RawData.Length);
        }),
        new("data", "x.bin", p =>
        {
            // A backend test folder: the input's first line names the files of test_data_set_0 (and a second data set,
            // "1/NAME"), the rest is the bytes each of them holds; loaded as inputs and as outputs.
            var bytes = File.ReadAllBytes(p);
            int nl = Array.IndexOf(bytes, (byte)'\n');
            var names = System.Text.Encoding.UTF8.GetString(bytes, 0, nl < 0 ? bytes.Length : nl).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var body = nl < 0 ? [] : bytes[(nl + 1)..];
            var root = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(p))!, "backend");
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            foreach (var name in names.Take(8))
            {
                if (name.Contains("..") || name.Contains('\0') || name.StartsWith('/') || Path.GetFileName(name) is "" or ".") continue;
                var file = Path.Combine(root, name.StartsWith("1/") ? "test_data_set_1" : name.StartsWith("9/") ? "test_data_set_99999999999" : "test_data_set_0", Path.GetFileName(name));
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllBytes(file, body);
            }
            Directory.CreateDirectory(root);
            Attempt(() => BackendTestData.Load(root, DataRole.Inputs, null));
            BackendTestData.Load(root, DataRole.Outputs, null);
        }),
        new("calib", "x.cache", p => CacheReader.Read(p)),
        new("calib-json", "x.json", p => CacheReader.Read(p)),
        new("calib-flatbuffers", "x.flatbuffers", p => CacheReader.Read(p)),
        new("suite", "x.suite.yaml", p => SuiteFile.Load(p)),
        new("options", "x.txt", p =>
        {
            // Each line one option value, through every parser of option text.
            var lines = File.ReadAllLines(p);
            foreach (var line in lines)
            {
                Attempt(() => RunnerRegistry.Check(RunnerSpec.Parse(line)));
                Attempt(() => new ToleranceSet().AddAtol(line));
                Attempt(() => new ToleranceSet().AddRtol(line));
                Attempt(() => new ToleranceSet().AddStat(line));
                Attempt(() => new ToleranceSet().AddMaxMismatchPercent(line));
                Attempt(() => ByteSize.TryParse(line, out _));
                Attempt(() => TensorShape.TryParse(line, out _, out _));
            }
            Attempt(() => InputShapes.Parse(lines));
            ValueRanges.Parse(lines);
        }),
    ];

    /// <summary>Runs one parser call, letting only clean errors pass (a finding propagates).</summary>
    private static void Attempt(Action a)
    {
        try { a(); }
        catch (Exception e) when (IsClean(e)) { }
    }

    /// <summary>PolyNet's own bad-input error (exit 2; the CLI prints it as one line, control characters escaped).</summary>
    public static bool IsClean(Exception e) => e is PolyNetException { ExitCode: ExitCodes.BadInput };

    public static Target? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>Feeds <paramref name="input"/> through the file at <paramref name="path"/>; null when clean, else the finding.</summary>
    public Exception? Try(byte[] input, string path)
    {
        File.WriteAllBytes(path, input);
        try
        {
            Parse(path);
            return null;
        }
        catch (Exception e) when (IsClean(e))
        {
            return null;
        }
#pragma warning disable CA1031 // every other exception is what the fuzzer looks for
        catch (Exception e)
#pragma warning restore CA1031
        {
            return e;
        }
    }
}
