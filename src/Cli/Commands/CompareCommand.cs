using System.CommandLine;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Jobs.Runs;
using PolyNet.Reports;

namespace PolyNet.Cli.Commands;

internal sealed record CompareSettings(IReadOnlyList<string> Files, ToleranceSet Tolerances, CompareOptions Options, IReadOnlyList<ReportRequest<RunReport>> Reports, bool Verbose, bool Quiet);

/// <summary>`polynet compare A B [...]`: compare saved results without a model.</summary>
internal static class CompareCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Two or more result files (.npz, .npy, .pb, Polygraphy RunResults .json, backend test folders); the first run is the reference",
            Arity = ArgumentArity.OneOrMore,
        };
        var reports = new ReportOptions<RunReport>(ReportFormats.Run);
        var tolerances = new ToleranceOptions();
        var cmd = new Command("compare", "Compare saved outputs (from PolyNet, Polygraphy or numpy) with every option of run's comparator, without a model.");
        cmd.Arguments.Add(files);
        tolerances.AddTo(cmd);
        reports.AddTo(cmd);
        cmd.SetAction(p => Execute(new CompareSettings(p.GetValue(files)!, tolerances.Read(p), tolerances.ReadOptions(p, reports.Read(p).Any(r => r.Writer.ShowsPassingOutputs)), reports.Read(p),
            GlobalOptions.Verbose(p), GlobalOptions.Quiet(p)), output, error));
        return cmd;
    }

    public static int Execute(CompareSettings s, TextWriter output, TextWriter error)
    {
        Onnx.AtomicFile.CheckTargets(s.Reports.Select(r => r.Path).ToList(), s.Files);
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        foreach (var w in s.Tolerances.Ineffective()) log.Warning(w);
        var text = new TextReport(output, s.Verbose);
        var r = CompareJob.Execute(s.Files, s.Tolerances, s.Options, log, p =>
        {
            if (!s.Quiet || !p.Passed) text.Pair(p);
        });
        var written = ReportRequest<RunReport>.WriteAll(s.Reports, new RunReport(r.Result, string.Join(" ", s.Files), $"polynet compare {string.Join(" ", s.Files.Select(Path.GetFileName))}"));
        text.Summary(r.Result);
        foreach (var f in written) output.WriteLine($"[I] wrote {f}");
        foreach (var p in r.InputProblems) error.WriteLine($"polynet: error: {ErrorText.OneLine(p)}");
        return r.InputProblems.Count > 0 ? ExitCodes.BadInput : r.Result.Passed ? ExitCodes.Success : ExitCodes.Mismatch;
    }
}
