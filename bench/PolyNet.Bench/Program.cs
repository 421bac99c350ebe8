using System.Diagnostics;
using Google.Protobuf;
using PolyNet.Bench;
using PolyNet.FixtureMaker;
using PolyNet.Onnx;
using PolyNet.Onnx.Proto;
using PolyNet.Runners;
using PolyNet.Runners.Ort;
using PolyNet.Runners.Specs;

// Usage (bench/run.sh drives these):
//   make-models DIR                                   ResNet-50 (102 MB) and a 1 GiB model with external data
//   make-matmul PATH                                  MatMul-heavy: x [64, 1024] through 8 MatMul 1024x1024 + Relu
//   overhead MODEL INPUT OUTPUT DIMS WARMUP RUNS      PolyNet's onnxrt runner around ORT's Run, timed per run
//   load MODEL REPEATS                               OnnxModel.Load against reading the same bytes
//   explain N REPEATS                                 the explanation of a failing output (float16-rounded candidate)
//   compare N REPEATS [THREADS|all] [DATA]            the full comparison report on N float32 elements; DATA: close
//                                                     (default), same, relu, random, fp16, nan (see CompareBench)
//   reduce SIZES...                                   model runs and checks of polynet reduce on generated graphs
switch (args.FirstOrDefault())
{
    case "make-models":
    {
        var dir = args[1];
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "resnet50.onnx"), Fixtures.ResNet50().ToByteArray());
        Big.Write(Path.Combine(dir, "big_external.onnx"), 1L << 30);
        Console.WriteLine($"models written to {dir}");
        return 0;
    }
    case "make-matmul":
    {
        var b = new ModelBuilder("matmul_heavy");
        var x = b.Input("x", ElementType.Float, 64, 1024);
        ulong state = 7;
        for (int layer = 0; layer < 8; layer++)
        {
            var w = new float[1024 * 1024];
            for (int i = 0; i < w.Length; i++) { state = state * 6364136223846793005UL + 1442695040888963407UL; w[i] = ((state >> 40) / 16777216.0f - 0.5f) / 16; }
            x = b.Node("Relu", [b.Node("MatMul", [x, b.Initializer(w, 1024, 1024)])]);
        }
        b.Output(x, ElementType.Float, 64, 1024);
        File.WriteAllBytes(args[1], b.Build().ToByteArray());
        Console.WriteLine($"wrote {args[1]}");
        return 0;
    }
    case "overhead":
    {
        var model = OnnxModel.Load(args[1]);
        using var runner = RunnerRegistry.Create(RunnerSpec.Parse(args.Length > 7 ? args[7] : "onnxrt"), new RunnerContext { Model = model });
        var sw = Stopwatch.StartNew();
        runner.Activate();
        double session = sw.Elapsed.TotalMilliseconds;
        TensorShape.TryParse(args[4], out var shape, out _);
        var data = TensorData.Allocate(ElementType.Float, shape);
        var f = data.Span<float>();
        ulong state = 1;
        for (int i = 0; i < f.Length; i++) { state = state * 6364136223846793005UL + 1442695040888963407UL; f[i] = (state >> 40) / 16777216.0f; }
        var feed = new ValueMap { { args[2], data } };
        int warmup = int.Parse(args[5]), runs = int.Parse(args[6]);
        var times = new List<double>();
        for (int i = 0; i < warmup + runs; i++)
        {
            // What `polynet run` pays per inference: the feed handed over, ORT's Run, the outputs copied out.
            var start = Stopwatch.GetTimestamp();
            var outs = runner.Infer(feed);
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            _ = outs.Tensor(args[3]);
            double native = ((OrtRunner)runner).LastNativeRunTime.TotalMilliseconds;
            if (i >= warmup) { times.Add(ms); Console.WriteLine($"run_ms {ms:0.0000} native_ms {native:0.0000} added_ms {ms - native:0.0000}"); }
        }
        times.Sort();
        Console.WriteLine($"summary session_ms {session:0.0} runs {runs} min_ms {times[0]:0.0000} median_ms {times[runs / 2]:0.0000} mean_ms {times.Average():0.0000} max_ms {times[^1]:0.0000}");
        return 0;
    }
    case "load":
        return LoadBench.Run(args[1], int.Parse(args[2]));
    case "reduce":
        return ReduceBench.Run(args.Skip(1).Select(int.Parse).ToList());
    case "explain":
        return CompareBench.Explain(long.Parse(args[1]), int.Parse(args[2]));
    case "compare":
        return CompareBench.Run(long.Parse(args[1]), int.Parse(args[2]), args.Length > 3 && args[3] != "all" ? int.Parse(args[3]) : null, args.Length > 4 ? args[4] : "close");
    default:
        Console.Error.WriteLine("usage: PolyNet.Bench make-models DIR | overhead ... | load MODEL REPEATS");
        return 2;
}

namespace PolyNet.Bench
{
    /// <summary>A model with 1 GiB of weights in a side file: MatMul chains over four 256 MiB initializers.</summary>
    internal static class Big
    {
        public static void Write(string path, long totalBytes)
        {
            var b = new ModelBuilder("big_external", opset: 17);
            var x = b.Input("x", ElementType.Float, 1, 8192);
            int parts = 4;
            long rows = totalBytes / parts / 4 / 8192; // float32 rows of 8192
            var proto = b.Build();
            string current = x;
            var rng = new Random(1);
            for (int p = 0; p < parts; p++)
            {
                var bytes = GC.AllocateUninitializedArray<byte>((int)(rows * 8192 * 4));
                rng.NextBytes(bytes.AsSpan(0, 4096));
                var t = new TensorProto { Name = $"w{p}", DataType = (int)ElementType.Float, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
                t.Dims.Add(8192);
                t.Dims.Add(rows);
                proto.Graph.Initializer.Add(t);
                proto.Graph.Node.Add(new NodeProto { Name = $"mm{p}", OpType = "MatMul", Input = { current, $"w{p}" }, Output = { $"h{p}" } });
                current = $"h{p}";
            }
            proto.Graph.Output.Add(ModelBuilder.MakeValueInfo(current, ElementType.Float, [1L, rows]));
            OnnxModel.FromProto(proto).Save(path, new ModelSaveOptions { ExternalData = ExternalDataPolicy.External });
        }
    }

    /// <summary>
    /// The full comparison report (every metric, exact quantiles, histograms) on N float32 elements, the same data
    /// generator as bench/c/floor.c and the numpy baseline: a uniform in [0,1), b = a plus up to 1e-6 of noise.
    /// </summary>
    internal static class CompareBench
    {
        /// <summary>
        /// The two arrays for DATA: close (b = a plus up to 1e-6, the README's figure), same (b = a), relu (half of both
        /// exactly 0), random (b unrelated to a: every element fails), fp16 (b = a rounded to float16: most fail), nan
        /// (one b in 1,024 is NaN). a is uniform in [0, 1), from the same generator as bench/c/floor.c.
        /// </summary>
        private static (TensorData A, TensorData B) Generate(long n, string data)
        {
            var a = TensorData.Allocate(ElementType.Float, new TensorShape(n));
            var b = TensorData.Allocate(ElementType.Float, new TensorShape(n));
            var fa = a.Span<float>();
            var fb = b.Span<float>();
            ulong s = 1;
            for (int i = 0; i < fa.Length; i++)
            {
                s = s * 6364136223846793005UL + 1442695040888963407UL;
                fa[i] = (s >> 40) / 16777216.0f;
                fb[i] = fa[i] + ((s >> 20) & 1023) * 1e-9f;
                switch (data)
                {
                    case "same": fb[i] = fa[i]; break;
                    case "relu": if ((s & 1) == 0) { fa[i] = 0; fb[i] = 0; } break;
                    case "random": fb[i] = ((s >> 8) & 0xFFFF) / 65536f - 0.5f; break;
                    case "fp16": fb[i] = (float)(Half)fa[i]; break;
                    case "nan": if ((s & 1023) == 0) fb[i] = float.NaN; break;
                }
            }
            return (a, b);
        }

        /// <summary>The explanation pass alone (bands, worst elements) on N float32 elements of the fp16 data (84% fail).</summary>
        public static int Explain(long n, int repeats)
        {
            var (a, b) = Generate(n, "fp16");
            double best = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                var x = PolyNet.Compare.Explanation.Compute(a, b, new PolyNet.Compare.Tolerance(1e-5, 1e-5));
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                if (x.Worst.Count == 0) return 1;
            }
            Console.WriteLine($"polynet explain_s {best:0.0000} (n {n}, best of {repeats})");
            return 0;
        }

        /// <summary>The full report on the DATA arrays (see <see cref="Generate"/>); failing outputs include the explanation pass.</summary>
        public static int Run(long n, int repeats, int? threads, string data)
        {
            if (data is not ("close" or "same" or "relu" or "random" or "fp16" or "nan"))
            {
                Console.Error.WriteLine($"compare: unknown DATA '{data}' (close, same, relu, random, fp16, nan)");
                return 2;
            }
            var (a, b) = Generate(n, data);
            var tol = new PolyNet.Compare.Tolerance(1e-5, 1e-5);
            var options = new PolyNet.Compare.CompareOptions { Threads = threads };
            double best = double.MaxValue;
            PolyNet.Compare.OutputComparison? last = null;
            // The fastest run's phases (first pass, plan, second pass, quantiles), for BENCHMARKS.md.
            var phases = new List<(string, double)>();
            var bestPhases = new List<(string, double)>();
            PolyNet.Compare.Kernels.ComparisonEngine.PhaseTimes = (name, s) => phases.Add((name, s));
            for (int r = 0; r < repeats; r++)
            {
                phases.Clear();
                var sw = Stopwatch.StartNew();
                last = PolyNet.Compare.TensorComparer.CompareTensors("out", a, b, tol, options);
                double t = sw.Elapsed.TotalSeconds;
                if (t < best) { best = t; bestPhases = [.. phases]; }
            }
            PolyNet.Compare.Kernels.ComparisonEngine.PhaseTimes = null;
            var m = last!.Metrics!;
            Console.WriteLine($"polynet full_report_s {best:0.0000} (n {n}, threads {threads?.ToString() ?? "all"}, best of {repeats}, data {data}) abs max {m.AbsError.Max:G4} median {m.AbsError.Median:G6} p99 {m.AbsError.P99:G6} mismatches {m.Mismatches}");
            Console.WriteLine("polynet phases of the fastest run: " + string.Join(", ", bestPhases.Select(p => $"{p.Item1} {p.Item2 * 1000:0.0} ms")));
            return 0;
        }
    }

    internal static class LoadBench
    {
        public static int Run(string path, int repeats)
        {
            var files = new List<string> { path };
            var probe = OnnxModel.Load(path);
            foreach (var t in ModelWalker.AllTensors(probe.Proto))
                if (ExternalData.IsExternal(t))
                    files.Add(ExternalData.ResolvePath(probe.BaseDirectory!, ExternalData.Parse(t, path), path, t.Name));
            files = files.Distinct().ToList();
            long bytes = files.Sum(f => new FileInfo(f).Length);
            double bestRead = double.MaxValue, bestLoad = double.MaxValue, bestValidate = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                long n = 0;
                foreach (var f in files)
                {
                    // The floor: every byte read once through one reused 16 MiB buffer (no memory to commit, nothing kept).
                    using var h = File.OpenHandle(f, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
                    long len = RandomAccess.GetLength(h);
                    var buf = GC.AllocateUninitializedArray<byte>((int)Math.Min(len, 16 << 20));
                    ulong xr = 0;
                    for (long off = 0; off < len;)
                    {
                        int k = RandomAccess.Read(h, buf.AsSpan(0, (int)Math.Min(buf.Length, len - off)), off);
                        foreach (var word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(buf.AsSpan(0, k))) xr ^= word;
                        off += k;
                        n += k;
                    }
                    if (xr == 42) Console.Write("");
                }
                bestRead = Math.Min(bestRead, sw.Elapsed.TotalMilliseconds);
                GC.Collect();
                sw.Restart();
                // Load mode and then every weight byte touched once (so the mapping is really read, as a user of the data would).
                var m = OnnxModel.Load(path, ExternalDataMode.Load);
                ulong x = 0;
                foreach (var t in m.Graph.Initializer)
                    foreach (var word in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(t.RawData.Span)) x ^= word;
                bestLoad = Math.Min(bestLoad, sw.Elapsed.TotalMilliseconds);
                GC.KeepAlive(m);
                if (x == 42) Console.Write("");
                m = null;
                GC.Collect();
                sw.Restart();
                var v = OnnxModel.Load(path, ExternalDataMode.Validate);
                bestValidate = Math.Min(bestValidate, sw.Elapsed.TotalMilliseconds);
                GC.KeepAlive(v);
            }
            Console.WriteLine($"load bytes {bytes} read_ms {bestRead:0.0} load_ms {bestLoad:0.0} ratio {bestLoad / bestRead:0.00} validate_ms {bestValidate:0.0} (read: every byte read and XOR-ed; load: OnnxModel.Load(Load) and every weight byte XOR-ed)");
            return 0;
        }
    }
}
