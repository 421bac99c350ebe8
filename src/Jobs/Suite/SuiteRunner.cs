using System.Diagnostics;
using PolyNet.Jobs.Runs;
using PolyNet.Onnx;
using PolyNet.Onnx.Data;

namespace PolyNet.Jobs.Suite;

public enum CaseStatus
{
    Passed,
    /// <summary>An output differs from the golden outputs or between runners beyond tolerance.</summary>
    Failed,
    /// <summary>Bad input for this case: a missing golden file, a model or data file that does not fit.</summary>
    BadInput,
    /// <summary>A runner could not be created or failed.</summary>
    RunnerFailed,
    /// <summary>The outputs match, but the latency exceeds a budget or is significantly slower than its baseline.</summary>
    TooSlow,
}

public sealed class CaseResult
{
    public required SuiteCase Case { get; init; }
    public required CaseStatus Status { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>The comparisons, when the case ran.</summary>
    public RunJobResult? Result { get; init; }
    /// <summary>One line: why the case did not pass, or what --update-golden did.</summary>
    public string? Message { get; init; }
    /// <summary>What --update-golden did: "created", "updated", "unchanged".</summary>
    public string? Golden { get; init; }
    /// <summary>What the case's job logged (inputs used, runner notes, warnings).</summary>
    public IReadOnlyList<LogEntry> Log { get; init; } = [];
    /// <summary>The latency check, when the case has one and its outputs matched.</summary>
    public LatencyResult? Latency { get; init; }

    public int ExitCode => Status switch
    {
        CaseStatus.Passed => ExitCodes.Success,
        CaseStatus.Failed or CaseStatus.TooSlow => ExitCodes.Mismatch,
        CaseStatus.BadInput => ExitCodes.BadInput,
        _ => ExitCodes.RunnerFailed,
    };
}

public sealed class SuiteResult
{
    public required SuiteFile Suite { get; init; }
    /// <summary>In suite order, whatever order the cases finished in.</summary>
    public required IReadOnlyList<CaseResult> Cases { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Cases selected to run; more than <see cref="Cases"/> holds when the run was interrupted.</summary>
    public required int Selected { get; init; }
    public bool Interrupted => Cases.Count < Selected;
    /// <summary>The shard this run was (`--shard I/N`), or null for the whole selection.</summary>
    public SuiteShard? Shard { get; init; }

    /// <summary>0 all passed; 3 if a runner failed; else 2 if a case had bad input; else 1 if a case failed.</summary>
    public int ExitCode => Cases.Any(c => c.Status == CaseStatus.RunnerFailed) ? ExitCodes.RunnerFailed
        : Cases.Any(c => c.Status == CaseStatus.BadInput) ? ExitCodes.BadInput
        : Cases.Any(c => c.Status is CaseStatus.Failed or CaseStatus.TooSlow) ? ExitCodes.Mismatch : ExitCodes.Success;
}

/// <summary>Options of a suite run.</summary>
public sealed class SuiteRunOptions
{
    /// <summary>Cases to run by name (empty: all).</summary>
    public IReadOnlyList<string> Cases { get; init; } = [];
    /// <summary>Run only cases carrying one of these tags (empty: all).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Write each case's golden outputs (the first runner's) instead of requiring them.</summary>
    public bool UpdateGolden { get; init; }
    /// <summary>Cases run at once (default: half the cores; always 1 when a case uses a GPU runner).</summary>
    public int? Jobs { get; init; }
    /// <summary>Explain passing outputs too (the HTML report shows their histograms and heat maps).</summary>
    public bool ExplainAll { get; init; }
    /// <summary>Upgrade every case's model to this opset first (`--upgrade-opset`); a case's own `upgrade_opset:` wins.</summary>
    public long? UpgradeOpset { get; init; }
    /// <summary>Run only this shard's share of the selected cases (`--shard I/N`).</summary>
    public SuiteShard? Shard { get; init; }
    /// <summary>Run times of an earlier run by case name, to balance the shards.</summary>
    public IReadOnlyDictionary<string, TimeSpan>? ShardDurations { get; init; }
}

/// <summary>
/// Runs a suite: every selected case is a <see cref="RunJob"/> whose runners are compared with the case's golden outputs
/// (and with each other). Cases run in parallel when only CPU runners are involved; results are reported in suite
/// order. Golden files are written atomically (temporary file renamed into place), only with --update-golden; a stale
/// temporary left by an interrupted update is removed the next time.
/// </summary>
public static class SuiteRunner
{
    public static IReadOnlyList<SuiteCase> Select(SuiteFile suite, SuiteRunOptions o)
    {
        foreach (var name in o.Cases)
            if (suite.Cases.All(c => c.Name != name))
                throw new InvalidInputException($"{suite.Path}: no case named '{name}' (cases: {string.Join(", ", suite.Cases.Select(c => c.Name))})");
        var tags = suite.Cases.SelectMany(c => c.Tags).ToHashSet(StringComparer.Ordinal);
        foreach (var tag in o.Tags)
            if (!tags.Contains(tag))
                throw new InvalidInputException($"{suite.Path}: no case has tag '{tag}' (tags: {string.Join(", ", tags.Order(StringComparer.Ordinal))})");
        var selected = suite.Cases.Where(c => (o.Cases.Count == 0 || o.Cases.Contains(c.Name)) && (o.Tags.Count == 0 || c.Tags.Any(o.Tags.Contains))).ToList();
        return o.Shard is { } shard ? SuiteShards.Pick(selected, shard, o.ShardDurations) : selected;
    }

    /// <param name="started">Called when a case starts (from the thread that runs it).</param>
    /// <param name="finished">Called as each case finishes, with the number finished so far; calls are serialized.</param>
    /// <param name="cancel">Stops the suite between cases: cases under way finish (and write their golden files), cases not started are left out of the result, which says it was interrupted.</param>
    public static SuiteResult Run(SuiteFile suite, SuiteRunOptions o, Action<SuiteCase>? started = null, Action<int, int, CaseResult>? finished = null, CancellationToken cancel = default)
    {
        var selected = Select(suite, o);
        var results = new CaseResult[selected.Count];
        int done = 0;
        var gate = new Lock();
        var watch = Stopwatch.StartNew();
        Parallel.For(0, selected.Count, new ParallelOptions { MaxDegreeOfParallelism = JobsFor(selected, o.Jobs) }, (i, state) =>
        {
            if (cancel.IsCancellationRequested)
            {
                state.Stop();
                return;
            }
            started?.Invoke(selected[i]);
            var r = RunCase(suite, selected[i], o.UpdateGolden, o.ExplainAll, o.UpgradeOpset);
            results[i] = r;
            lock (gate)
            {
                done++;
                finished?.Invoke(done, selected.Count, r);
            }
        });
        return new SuiteResult { Suite = suite, Cases = results.Where(r => r is not null).ToList(), Selected = selected.Count, Duration = watch.Elapsed, Shard = o.Shard };
    }

    /// <summary>
    /// Cases at once: as asked, else half the cores (each ORT session already uses several threads). Cases with a GPU
    /// runner run one at a time whatever was asked: two sessions on one GPU compete for its memory and skew each other.
    /// </summary>
    public static int JobsFor(IReadOnlyList<SuiteCase> cases, int? asked)
    {
        if (asked is < 1) throw new InvalidInputException($"--jobs {asked}: must be at least 1");
        bool gpu = cases.Any(c => c.Runners.Any(r => Runners.RunnerRegistry.KindOf(r).UsesGpu));
        // A latency measurement needs the machine to itself.
        bool timed = cases.Any(c => c.Latency is not null);
        return gpu || timed ? 1 : asked ?? Math.Max(1, Environment.ProcessorCount / 2);
    }

    public static CaseResult RunCase(SuiteFile suite, SuiteCase c, bool updateGolden, bool explainAll = false, long? upgradeOpset = null)
    {
        var watch = Stopwatch.StartNew();
        var log = new MemoryJobLog();
        try
        {
            RemoveStaleTemporaries(c.Golden);
            if (!updateGolden && !File.Exists(c.Golden))
                return new CaseResult
                {
                    Case = c, Status = CaseStatus.BadInput, Duration = watch.Elapsed,
                    Message = $"golden file {Path.GetRelativePath(Environment.CurrentDirectory, c.Golden)} does not exist; create it with: polynet suite run {suite.GivenPath} --update-golden --case {c.Name}",
                };
            var model = ModelUpgrade.Apply(OnnxModel.Load(c.Model), c.UpgradeOpset ?? upgradeOpset, log);
            var options = new RunJobOptions
            {
                Model = model,
                Runners = c.Runners,
                LoadInputs = c.InputFiles,
                Seed = c.Seed,
                Iterations = c.Samples,
                ValueRanges = c.ValueRanges,
                InputShapes = c.InputShapes,
                LoadOutputs = updateGolden ? null : c.Golden,
                LoadOutputsMustMatch = true,
                LoadOutputsLabel = "golden",
                Tolerances = c.Tolerances,
                Compare = c.Options with { Explain = explainAll ? ExplainMode.All : ExplainMode.Failing },
                KeepOutputs = updateGolden,
            };
            var result = RunJob.Execute(options, log);
            string? golden = null;
            if (updateGolden)
            {
                var outputs = result.Outputs![0];
                bool existed = File.Exists(c.Golden);
                bool same = existed && SameValues(TryLoad(c.Golden), outputs);
                if (!same)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(c.Golden)!);
                    DataFiles.Save(c.Golden, outputs, DataRole.Outputs);
                }
                golden = same ? "unchanged" : existed ? "updated" : "created";
            }
            var failed = result.Pairs.Where(p => !p.Passed).ToList();
            // Latency is measured only for outputs that match: a wrong answer fast is no answer.
            var latency = c.Latency is { } budget && failed.Count == 0 ? MeasureLatency(c, budget, model, updateGolden, log) : null;
            var status = failed.Count > 0 ? CaseStatus.Failed : latency?.Passed == false ? CaseStatus.TooSlow : CaseStatus.Passed;
            var done = new List<string>();
            if (golden is not null) done.Add($"golden outputs {golden}");
            if (latency?.BaselineUpdate is { } lu) done.Add($"latency baseline {lu}");
            return new CaseResult
            {
                Case = c,
                Status = status,
                Duration = watch.Elapsed,
                Result = result,
                Message = status switch
                {
                    CaseStatus.Failed => (result.ShapeSets is { } sets ? $"at shape set(s) {string.Join("; ", sets.Where(x => !x.Passed).Select(x => $"{x.Index + 1} ({x.Shapes})"))}: " : "") + Describe(failed),
                    CaseStatus.TooSlow => $"too slow ({latency!.Runner}): {latency.Describe()}",
                    _ => done.Count == 0 ? null : string.Join("; ", done),
                },
                Golden = golden,
                Log = log.Lines,
                Latency = latency,
            };
        }
        catch (PolyNetException e)
        {
            return new CaseResult
            {
                Case = c,
                Status = e.ExitCode == ExitCodes.RunnerFailed ? CaseStatus.RunnerFailed : CaseStatus.BadInput,
                Duration = watch.Elapsed,
                Message = e.Message,
                Log = log.Lines,
            };
        }
    }

    /// <summary>"probs: 1 of 10 elements (10%) out of tolerance, max abs error 0.01 at [0, 3] (onnxrt vs golden, sample 1)"; every failing output.</summary>
    /// <summary>Times the case's latency runner as `polynet bench` does, on the case's first sample, and checks its budgets and baseline.</summary>
    private static LatencyResult MeasureLatency(SuiteCase c, LatencyBudget budget, OnnxModel model, bool updateGolden, IJobLog log)
    {
        var feeds = InputSamples.LoadOrGenerate(c.InputFiles, model.Inputs, c.Seed, 1, c.ValueRanges, c.InputShapes.IsSweep ? c.InputShapes.Set(0) : c.InputShapes, log)[0];
        var r = BenchJob.Execute(new BenchOptions { Model = model, Runners = [budget.Runner], Feeds = feeds, Iterations = budget.Iterations, Rounds = budget.Rounds }, log).Single();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var exceeded = budget.Budgets.Where(kv => LatencyBudget.Of(r.Latency, kv.Key) > kv.Value)
            .Select(kv => string.Create(inv, $"{kv.Key} {LatencyBudget.Of(r.Latency, kv.Key):0.####} ms > {kv.Value:0.####} ms")).ToList();
        Bench.BaselineVerdict? verdict = null;
        string? update = null;
        if (budget.Baseline)
        {
            var path = LatencyBudget.BaselinePath(c.Golden);
            if (updateGolden)
            {
                update = File.Exists(path) ? "updated" : "created";
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                Bench.Baseline.Write(path, new Bench.BaselineDocument(Path.GetFileName(c.Model), Bench.Baseline.ModelSha256(c.Model),
                    Runners.Native.OrtRuntime.Current.Version, Runners.MachineDescription.Describe(), feeds.ToDictionary(kv => kv.Key, kv => kv.Value.Describe()),
                    [new Bench.BaselineRunner(r.Runner, r.Spec, r.Samples)]));
            }
            else
            {
                if (!File.Exists(path))
                    throw InvalidInputException.ForFile(path, $"does not exist: the latency baseline of case '{c.Name}'; create it with --update-golden --case {c.Name}");
                var doc = Bench.Baseline.Read(path);
                verdict = Bench.Baseline.Compare(r.Runner, Bench.Baseline.For(path, doc, r.Runner).Samples!, r.Samples, budget.MaxSlowdown);
            }
        }
        return new LatencyResult(r.Runner, r.Latency, budget.Budgets, exceeded, verdict, budget.MaxSlowdown, update, r.Spread);
    }

    public static string Describe(IReadOnlyList<PairResult> failed)
    {
        bool samples = failed.Any(p => p.Sample > 0);
        string Who(PairResult p) => $"({p.Candidate} vs {p.Reference}{(samples ? $", sample {p.Sample}" : "")})";
        return string.Join("; ", failed.SelectMany(p => p.Outputs.Where(o => !o.Passed).Select(o =>
                $"{o.Output}: {o.Reason}{(o.Metrics is { WorstAbs: { } w } m ? $", max abs error {Format.Number(m.AbsError.Max)} at {w.Index}" : "")} {Who(p)}")
            .Concat(p.MissingInCandidate.Select(m => $"{m}: missing from {p.Candidate} {Who(p)}"))));
    }

    /// <summary>The golden file's samples, or null when it cannot be read (an update replaces it).</summary>
    private static IReadOnlyList<ValueMap>? TryLoad(string path)
    {
        try { return DataFiles.Load(path, DataRole.Outputs).Samples; }
        catch (InvalidInputException) { return null; }
    }

    private static bool SameValues(IReadOnlyList<ValueMap>? a, IReadOnlyList<ValueMap> b)
    {
        if (a is null || a.Count != b.Count) return false;
        for (int s = 0; s < a.Count; s++)
        {
            var x = Npz.Flatten(a[s]).ToList();
            var y = Npz.Flatten(b[s]).ToList();
            if (x.Count != y.Count) return false;
            for (int i = 0; i < x.Count; i++)
                if (x[i].Name != y[i].Name || !x[i].Tensor.ContentEquals(y[i].Tensor)) return false;
        }
        return true;
    }

    /// <summary>An interrupted atomic write leaves FILE.tmp-PID-GUID behind; the golden file itself is untouched.</summary>
    private static void RemoveStaleTemporaries(string golden)
    {
        var dir = Path.GetDirectoryName(golden)!;
        if (!Directory.Exists(dir)) return;
        foreach (var f in Directory.EnumerateFiles(dir, Path.GetFileName(golden) + ".tmp-*"))
        {
            var pid = Path.GetFileName(f)[(Path.GetFileName(golden).Length + 5)..].Split('-')[0];
            if (int.TryParse(pid, out var p) && p != Environment.ProcessId && !ProcessAlive(p))
                File.Delete(f);
        }
    }

    private static bool ProcessAlive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
