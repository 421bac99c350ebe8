using System.CommandLine;
using PolyNet.Runners.Native;
using System.Runtime.InteropServices;
using PolyNet.Compare;
using PolyNet.Reports;
using PolyNet.Jobs.Suite;
using PolyNet.Reports.Suite;

using PolyNet.Jobs;

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
    public string? Shard { get; init; }
    public string? ShardDurations { get; init; }
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
        var shard = new Option<string?>("--shard") { Description = "Run shard I of N (1-based): a deterministic share of the selected cases, so N CI machines together run each case once ('polynet suite merge' joins their reports)", HelpName = "I/N" };
        var shardDurations = new Option<string?>("--shard-durations") { Description = "With --shard: balance the shards by the case run times in an earlier suite run's --json (default: cases dealt out in suite order)", HelpName = "FILE" };

        var run = new Command("run", "Run every case (or those selected) and compare each runner with the golden outputs and with the case's first runner.");
        run.Arguments.Add(suite);
        foreach (var o in new Option[] { cases, tags, update, jobs, upgrade, shard, shardDurations }) run.Options.Add(o);
        reports.AddTo(run);
        run.SetAction(p => Run(new SuiteSettings(p.GetValue(suite)!, p.GetValue(cases) ?? [], p.GetValue(tags) ?? [], p.GetValue(update), p.GetValue(jobs),
            reports.Read(p), GlobalOptions.OrtLibrary(p), GlobalOptions.Verbose(p), GlobalOptions.Quiet(p)) { UpgradeOpset = p.GetValue(upgrade), Shard = p.GetValue(shard), ShardDurations = p.GetValue(shardDurations) }, output, error));

        var listSuite = new Argument<string>("suite") { Description = "The suite file" };
        var list = new Command("list", "List the suite's cases: name, tags, model, runners, golden file and whether it exists.");
        list.Arguments.Add(listSuite);
        list.SetAction(p => List(p.GetValue(listSuite)!, output));

        var cmd = new Command("suite", "Regression suites for CI: models, inputs, runners, tolerances and golden outputs in one YAML file.");
        var mergeSuite = new Argument<string>("suite") { Description = "The suite file the shards ran" };
        var shardReports = new Argument<string[]>("shards") { Description = "Each shard's --json report", Arity = ArgumentArity.OneOrMore };
        var mergeReports = new ReportOptions<SuiteResult>(ReportFormats.Suite);
        var merge = new Command("merge", "Join the JSON reports of a suite's shards (suite run --shard I/N --json) into one result and write any suite report from it.");
        merge.Arguments.Add(mergeSuite);
        merge.Arguments.Add(shardReports);
        mergeReports.AddTo(merge);
        merge.SetAction(p => Merge(p.GetValue(mergeSuite)!, p.GetValue(shardReports) ?? [], mergeReports.Read(p), output));

        cmd.Subcommands.Add(run);
        cmd.Subcommands.Add(list);
        cmd.Subcommands.Add(merge);
        return cmd;
    }

    public static int Merge(string suitePath, IReadOnlyList<string> shards, IReadOnlyList<ReportRequest<SuiteResult>> reports, TextWriter output)
    {
        var suite = SuiteFile.Load(suitePath);
        Onnx.AtomicFile.CheckTargets(reports.Select(r => r.Path).ToList(), [suitePath, .. shards]);
        var result = SuiteMerge.Merge(suite, shards);
        int passed = result.Cases.Count(c => c.Status == CaseStatus.Passed);
        output.WriteLine($"[{(result.ExitCode == ExitCodes.Success ? "I" : "E")}] {(result.ExitCode == ExitCodes.Success ? "PASSED" : "FAILED")}: {passed} of {result.Cases.Count} case(s) passed over {shards.Count} shard report(s)");
        foreach (var c in result.Cases.Where(c => c.Status != CaseStatus.Passed))
            output.WriteLine($"[E]   {c.Case.Name}: {SuiteText.Word(c.Status)}: {c.Message}");
        foreach (var f in ReportRequest<SuiteResult>.WriteAll(reports, result)) output.WriteLine($"[I] wrote {f}");
        return result.ExitCode;
    }

    public static int Run(SuiteSettings s, TextWriter output, TextWriter error)
    {
        ModelUpgrade.Validate(s.UpgradeOpset);
        var suite = SuiteFile.Load(s.Suite);
        var options = new SuiteRunOptions { Cases = s.Cases, Tags = s.Tags, UpdateGolden = s.UpdateGolden, Jobs = s.Jobs, ExplainAll = s.Reports.Any(r => r.Writer.ShowsPassingOutputs), UpgradeOpset = s.UpgradeOpset,
            Shard = s.Shard is { } sh ? SuiteShard.Parse(sh) : null, ShardDurations = s.ShardDurations is { } timed ? SuiteMerge.Durations(timed) : null };
        if (s.ShardDurations is not null && s.Shard is null) throw new InvalidInputException("--shard-durations balances --shard; without --shard it changes nothing");
        var selected = SuiteRunner.Select(suite, options);
        int jobs = SuiteRunner.JobsFor(selected, s.Jobs);
        // Refuse unwritable report paths now, not after the suite has run; no report may replace a file a case reads or keeps.
        Onnx.AtomicFile.CheckTargets(s.Reports.Select(r => r.Path).ToList(),
            [s.Suite, .. suite.Cases.SelectMany(c => c.InputFiles.Concat([c.Model, c.Golden, Jobs.Suite.LatencyBudget.BaselinePath(c.Golden)]))]);
        OrtRuntime.Initialize(s.OrtLibrary);

        var sync = TextWriter.Synchronized(output);
        if (!s.Quiet)
            sync.WriteLine($"[I] suite {suite.Name}: {selected.Count} of {suite.Cases.Count} case(s){(options.Shard is { } part ? $" (shard {part}{(options.ShardDurations is null ? ", dealt in suite order" : ", balanced by earlier run times")}: {string.Join(", ", selected.Select(c => c.Name))})" : "")}, {jobs} at a time{(s.UpdateGolden ? ", updating golden outputs" : "")}");
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
