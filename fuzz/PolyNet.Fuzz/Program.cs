using System.Diagnostics;
using PolyNet.Fuzz;

// PolyNet's fuzzing harness (fuzz/README.md).
//   quick SECONDS DIR [TARGET...]   plain mutation, in process, SECONDS per target; findings (minimized) into DIR; exit 1 on any
//   seeds TARGET DIR                writes TARGET's seed corpus (for afl-fuzz -i)
//   afl TARGET                      one afl++ run's target (SharpFuzz; started by afl-fuzz, see fuzz/run.sh)
//   replay TARGET FILE...           feeds saved inputs (regressions); exit 1 when one is not clean
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: PolyNet.Fuzz quick SECONDS DIR [TARGET...] | seeds TARGET DIR | afl TARGET | replay TARGET FILE...");
    return 2;
}
Target Named(string name) => Target.Find(name) ?? throw new ArgumentException($"unknown target '{name}' (targets: {string.Join(", ", Target.All.Select(t => t.Name))})");
var scratch = Directory.CreateTempSubdirectory("polynet-fuzz-");
try
{
    switch (args[0])
    {
        case "seeds":
        {
            var t = Named(args[1]);
            Directory.CreateDirectory(args[2]);
            int k = 0;
            foreach (var seed in Seeds.For(t, scratch.FullName)) File.WriteAllBytes(Path.Combine(args[2], $"seed{k++:D3}"), seed);
            Console.WriteLine($"{t.Name}: {k} seed(s) in {args[2]}");
            return 0;
        }
        case "afl":
        {
            var t = Named(args[1]);
            var path = Path.Combine(scratch.FullName, t.Extension);
            SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
            {
                using var ms = new MemoryStream();
                stream.CopyTo(ms);
                if (t.Try(ms.ToArray(), path) is { } finding) throw finding;
            });
            return 0;
        }
        case "replay":
        {
            var t = Named(args[1]);
            int bad = 0;
            foreach (var f in args.Skip(2))
                if (t.Try(File.ReadAllBytes(f), Path.Combine(scratch.FullName, t.Extension)) is { } e)
                {
                    Console.WriteLine($"{f}: {Mutator.Signature(e)}: {e.Message.Split('\n')[0]}");
                    bad++;
                }
            Console.WriteLine($"{t.Name}: {args.Length - 2 - bad} of {args.Length - 2} input(s) clean");
            return bad == 0 ? 0 : 1;
        }
        case "quick":
        {
            double seconds = double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
            var outDir = args[2];
            var targets = args.Length > 3 ? args.Skip(3).Select(Named).ToList() : Target.All.ToList();
            int findings = 0;
            Console.WriteLine($"{"target",-18} {"inputs",10} {"inputs/s",9} {"findings",8}");
            foreach (var t in targets)
            {
                var path = Path.Combine(scratch.FullName, t.Extension);
                var seeds = Seeds.For(t, scratch.FullName).ToList();
                var rng = new Random(12345);
                var seen = new Dictionary<string, byte[]>(StringComparer.Ordinal);
                var clock = Stopwatch.StartNew();
                long n = 0;
                foreach (var s in seeds)
                {
                    n++;
                    if (t.Try(s, path) is { } e) seen.TryAdd(Mutator.Signature(e), s);
                }
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    var input = Mutator.Mutate(seeds[rng.Next(seeds.Count)], seeds, rng);
                    n++;
                    if (t.Try(input, path) is { } e) seen.TryAdd(Mutator.Signature(e), input);
                }
                double rate = n / clock.Elapsed.TotalSeconds;
                Console.WriteLine($"{t.Name,-18} {n,10} {rate,9:0} {seen.Count,8}");
                foreach (var (signature, input) in seen)
                {
                    var small = Mutator.Minimize(input, i => t.Try(i, path) is { } e && Mutator.Signature(e) == signature);
                    var dir = Path.Combine(outDir, t.Name);
                    Directory.CreateDirectory(dir);
                    var name = $"finding-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(small))[..12].ToLowerInvariant()}";
                    File.WriteAllBytes(Path.Combine(dir, name), small);
                    File.WriteAllText(Path.Combine(dir, name + ".txt"), signature + "\n");
                    Console.WriteLine($"  {signature} ({small.Length} bytes): {Path.Combine(dir, name)}");
                    findings++;
                }
            }
            return findings == 0 ? 0 : 1;
        }
        default:
            Console.Error.WriteLine($"unknown mode '{args[0]}'");
            return 2;
    }
}
finally
{
    try { scratch.Delete(recursive: true); } catch (IOException) { }
}
