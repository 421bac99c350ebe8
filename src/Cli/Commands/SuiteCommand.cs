using System.CommandLine;
using PolyNet.Runners.Native;
using System.Runtime.InteropServices;
using PolyNet.Compare;
using PolyNet.Reports;
using PolyNet.Jobs.Suite;
using PolyNet.Reports.Suite;

namespace PolyNet.Cli.Commands;

internal sealed record SuiteSettings(
    string Suite,
    IReadOnlyList<string> Cases,
    IReadOnlyList<string> Tags,
    bool UpdateGolden,
    int? Jobs,
    IReadOnlyList<ReportRequest<SuiteResult>> Reports,
    string? OrtLibrary,
    bool Verbose,
    bool Quiet)
{
    public long? UpgradeOpset { get; init; }
}

/// <summary>`polynet suite run SUITE.yaml` and `polynet suite list SUITE.yaml`: regression suites for CI.</summary>
internal static class SuiteCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var suite = new Argument<string>("suite") { Description = "The suite file (.yaml; see README, \"Regression suites\")" };
        var cases = new Option<string[]>("--case") { Description = "Run only this case (repeat for several)", HelpName = "NAME", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var tags = new Option<string[]>("--tag") { Description = "Run only cases with this tag (repeat for several: any of them)", HelpName = "TAG", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var update = new Option<bool>("--update-golden") { Description = "Write each case's golden outputs from its first runner (atomically) instead of comparing with them" };
        var jobs = new Option<int?>("--jobs", "-j") { Description = "Cases run at once (default: half the cores; 1 when a case uses a GPU runner)", HelpName = "N" };
        var reports = new ReportOptions<SuiteResult>(ReportFormats.Suite);
        var upgrade = UpgradeOpsetOption.Create();
        upgrade.Description += "; a case's upgrade_opset: wins";

        var run = new Command("run", "Run every case (or those selected) and compare each runner with the golden outputs and with the case's first runner.");
        run.Arguments.Add(suite);
        foreach (var o in new Option[] { cases, tags, update, jobs, upgrade }) run.Options.Add(o);
        reports.AddTo(run);
        run.SetAction(p => Run(new SuiteSettings(p.GetValue(suite)!, p.GetValue(cases) ?? [], p.GetValue(tags) ?? [], p.GetValue(update), p.GetValue(jobs),
            reports.Read(p), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p)) { UpgradeOpset = p.GetValue(upgrade) }, output, error));

        var listSuite = new Argument<string>("suite") { Description = "The suite file" };
        var list = new Command("list", "List the suite's cases: name, tags, model, runners, golden file and whether it exists.");
        list.Arguments.Add(listSuite);
        list.SetAction(p => List(p.GetValue(listSuite)!, output));

        var cmd = new Command("suite", "Regression suites for CI: models, inputs, runners, tolerances and golden outputs in one YAML file.");
        cmd.Subcommands.Add(run);
        cmd.Subcommands.Add(list);
        return cmd;
    }

    public static int Run(SuiteSettings s, TextWriter output, TextWriter error)
    {
        var suite = SuiteFile.Load(s.Suite);
        var options = new SuiteRunOptions { Cases = s.Cases, Tags = s.Tags, UpdateGolden = s.UpdateGolden, Jobs = s.Jobs, ExplainAll = s.Reports.Any(r => r.Writer.ShowsPassingOutputs), UpgradeOpset = s.UpgradeOpset };
        var selected = SuiteRunner.Select(suite, options);
        int jobs = SuiteRunner.JobsFor(selected, s.Jobs);
        // Refuse unwritable report paths now, not after the suite has run.
        Onnx.AtomicFile.CheckTargets(s.Reports.Select(r => r.Path).ToList(), [s.Suite]);
        OrtRuntime.Initialize(s.OrtLibrary);

        var sync = TextWriter.Synchronized(output);
        if (!s.Quiet)
            sync.WriteLine($"[I] suite {suite.Name}: {selected.Count} of {suite.Cases.Count} case(s), {jobs} at a time{(s.UpdateGolden ? ", updating golden outputs" : "")}");
        int width = selected.Count.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;

        // Ctrl-C or SIGTERM (a CI timeout): finish the cases under way, skip the rest, still write the reports of what
        // finished. A second signal ends the process at once (golden files are renamed into place, so none is torn).
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested) return;
            context.Cancel = true;
            cancel.Cancel();
            error.WriteLine("[W] interrupted: finishing the case(s) under way, then writing what finished; signal again to stop at once");
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var result = SuiteRunner.Run(suite, options,
            started: c => { if (s.Verbose) sync.WriteLine($"[V] {c.Name}: running ({string.Join(", ", c.Runners.Select(r => r.Text))})"); },
            finished: (done, total, c) =>
            {
                if (s.Quiet && c.Status == CaseStatus.Passed) return;
                var head = $"[{done.ToString().PadLeft(width)}/{total}] {c.Case.Name}: {SuiteText.Word(c.Status).ToUpperInvariant()} in {Format.Duration(c.Duration)}";
                sync.WriteLine(c.Message is null ? head : $"{head}: {ErrorText.OneLine(c.Message ?? "")}");
                if (c.Status is CaseStatus.BadInput or CaseStatus.RunnerFailed)
                    error.WriteLine($"polynet: error: {suite.GivenPath}:{c.Case.Line}: case '{c.Case.Name}': {ErrorText.OneLine(c.Message ?? "")}");
            }, cancel.Token);

        foreach (var f in ReportRequest<SuiteResult>.WriteAll(s.Reports, result)) sync.WriteLine($"[I] wrote {f}");

        int passed = result.Cases.Count(c => c.Status == CaseStatus.Passed);
        var verdict = result.ExitCode == ExitCodes.Success ? "PASSED" : "FAILED";
        sync.WriteLine($"[{(result.ExitCode == ExitCodes.Success ? "I" : "E")}] {verdict}: {passed} of {result.Cases.Count} case(s) passed in {Format.Duration(result.Duration)}"
            + string.Concat(result.Cases.Where(c => c.Status != CaseStatus.Passed).Select(c => $"; {c.Case.Name} {SuiteText.Word(c.Status)}")));
        if (result.Interrupted)
        {
            error.WriteLine($"polynet: interrupted after {result.Cases.Count} of {result.Selected} case(s)");
            return GlobalOptions.Interrupted;
        }
        return result.ExitCode;
    }

    public static int List(string path, TextWriter output)
    {
        var suite = SuiteFile.Load(path);
        var dir = Path.GetDirectoryName(suite.Path)!;
        output.WriteLine($"suite {suite.Name}: {suite.Cases.Count} case(s)");
        foreach (var c in suite.Cases)
        {
            output.WriteLine($"  {c.Name}{(c.Tags.Count > 0 ? $" [{string.Join(", ", c.Tags)}]" : "")}");
            output.WriteLine($"    model   {Path.GetRelativePath(dir, c.Model)}");
            output.WriteLine($"    runners {string.Join(" ", c.Runners.Select(r => r.Text))}");
            output.WriteLine($"    inputs  {(c.InputFiles.Count > 0 ? string.Join(", ", c.InputFiles.Select(f => Path.GetRelativePath(dir, f))) : $"generated, seed {c.Seed}, {c.Samples} sample(s)")}");
            output.WriteLine($"    golden  {Path.GetRelativePath(dir, c.Golden)}{(File.Exists(c.Golden) ? "" : " (missing: create it with --update-golden)")}");
        }
        return ExitCodes.Success;
    }
}
