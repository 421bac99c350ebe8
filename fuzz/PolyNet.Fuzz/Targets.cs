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
