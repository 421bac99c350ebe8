using System.CommandLine;
using PolyNet.Compare;
using PolyNet.Jobs;
using PolyNet.Reports;

namespace PolyNet.Cli.Commands;

internal sealed record CompareSettings(IReadOnlyList<string> Files, ToleranceSet Tolerances, CompareOptions Options, string? Json, string? Report, bool Verbose, bool Quiet);

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
        var json = new Option<string?>("--json") { Description = "Write every result and metric as JSON", HelpName = "FILE" };
        var report = ReportOptions.Html();
        var tolerances = new ToleranceOptions();
        var cmd = new Command("compare", "Compare saved outputs (from PolyNet, Polygraphy or numpy) with every option of run's comparator, without a model.");
        cmd.Arguments.Add(files);
        cmd.Options.Add(json);
        cmd.Options.Add(report);
        tolerances.AddTo(cmd);
        cmd.SetAction(p => Execute(new CompareSettings(p.GetValue(files)!, tolerances.Read(p), tolerances.ReadOptions(p, p.GetValue(report) is not null), p.GetValue(json), p.GetValue(report),
            p.GetValue(CliApp.Verbose), p.GetValue(CliApp.Quiet)), output, error));
        return cmd;
    }

    public static int Execute(CompareSettings s, TextWriter output, TextWriter error)
    {
        Onnx.AtomicFile.CheckTargets([s.Json, s.Report], s.Files);
        var log = new WriterLog(output, error, s.Verbose, s.Quiet);
        var text = new TextReport(output, s.Verbose);
        var r = CompareJob.Execute(s.Files, s.Tolerances, s.Options, log, p =>
        {
            if (!s.Quiet || !p.Passed) text.Pair(p);
        });
        if (s.Json is not null) JsonReport.Write(s.Json, r.Result, string.Join(" ", s.Files));
        if (s.Report is not null) HtmlReport.Write(s.Report, r.Result, $"polynet compare {string.Join(" ", s.Files.Select(Path.GetFileName))}");
        text.Summary(r.Result);
        foreach (var f in new[] { s.Json, s.Report }.Where(f => f is not null)) output.WriteLine($"[I] wrote {f}");
        foreach (var p in r.InputProblems) error.WriteLine($"polynet: error: {p}");
        return r.InputProblems.Count > 0 ? ExitCodes.BadInput : r.Result.Passed ? ExitCodes.Success : ExitCodes.Mismatch;
    }
}
