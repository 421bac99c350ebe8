namespace PolyNet.Fuzz;

/// <summary>Plain mutation for the quick mode (no coverage feedback): flips, interesting values, numbers, cuts, splices.</summary>
public static class Mutator
{
    private static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, (byte)'(', (byte)'[', (byte)'{', (byte)'"', (byte)'\\', (byte)'\n', (byte)'-', (byte)':', (byte)','];
    private static readonly long[] InterestingInts = [0, -1, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, long.MaxValue, long.MinValue, 1L << 31, 1L << 32, 1L << 61, 1L << 62];
    private static readonly string[] InterestingText = ["99999999999999999999", "-1", "0", "1e309", "nan", "(((((((((((((((((((((", "[[[[[[[[[[[[[[[[[[[[", "{{{{{{{{{{{{{{", "\\u0000", "'<U0'", "'|O'", "\u00e9", "\n", ":", "=", ",", "..", "/etc/passwd", "-inf"];

    public static byte[] Mutate(byte[] seed, IReadOnlyList<byte[]> all, Random rng)
    {
        var b = new List<byte>(seed);
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int at = b.Count == 0 ? 0 : rng.Next(b.Count);
            switch (rng.Next(9))
            {
                case 0 when b.Count > 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1 when b.Count > 0: b[at] = InterestingBytes[rng.Next(InterestingBytes.Length)]; break;
                case 2 when b.Count >= 8:
                {
                    var v = BitConverter.GetBytes(InterestingInts[rng.Next(InterestingInts.Length)]);
                    int width = new[] { 1, 2, 4, 8 }[rng.Next(4)];
                    at = Math.Min(at, b.Count - width);
                    for (int i = 0; i < width; i++) b[at + i] = v[i];
                    break;
                }
                case 3:
                    b.InsertRange(at, System.Text.Encoding.UTF8.GetBytes(InterestingText[rng.Next(InterestingText.Length)]));
                    break;
                case 4 when b.Count > 1:
                {
                    int len = 1 + rng.Next(Math.Min(b.Count - at, 1 + b.Count / 4));
                    b.RemoveRange(at, Math.Min(len, b.Count - at));
                    break;
                }
                case 5 when b.Count > 1:
                {
                    int len = 1 + rng.Next(Math.Min(b.Count - at, 64));
                    b.InsertRange(rng.Next(b.Count), b.GetRange(at, Math.Min(len, b.Count - at)));
                    break;
                }
                case 6:
                {
                    // Replace a run of ASCII digits (a size in a header, a dimension, an offset) with another number.
                    int i = at;
                    while (i < b.Count && !char.IsAsciiDigit((char)b[i])) i++;
                    if (i == b.Count) break;
                    int j = i;
                    while (j < b.Count && char.IsAsciiDigit((char)b[j])) j++;
                    b.RemoveRange(i, j - i);
                    b.InsertRange(i, System.Text.Encoding.ASCII.GetBytes(InterestingInts[rng.Next(InterestingInts.Length)].ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                }
                case 7:
                {
                    var other = all[rng.Next(all.Count)];
                    if (other.Length == 0) break;
                    int from = rng.Next(other.Length);
                    b.RemoveRange(at, b.Count - at);
                    b.AddRange(other.AsSpan(from, Math.Min(other.Length - from, 4096)).ToArray());
                    break;
                }
                case 8 when b.Count > 0: b.RemoveRange(at, b.Count - at); break; // truncation
            }
        }
        return b.ToArray();
    }

    /// <summary>What makes two findings the same: the exception's type and the frame that threw it.</summary>
    public static string Signature(Exception e)
    {
        var frame = new System.Diagnostics.StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("PolyNet", StringComparison.Ordinal) == true)
                    ?? new System.Diagnostics.StackTrace(e, false).GetFrame(0);
        var m = frame?.GetMethod();
        return $"{e.GetType().Name} in {m?.DeclaringType?.Name}.{m?.Name}";
    }

    /// <summary>Shrinks <paramref name="input"/> while <paramref name="stillFails"/> holds: halves, then chunks, then bytes.</summary>
    public static byte[] Minimize(byte[] input, Func<byte[], bool> stillFails)
    {
        var best = input;
        for (int chunk = Math.Max(1, best.Length / 2); chunk >= 1; chunk /= 2)
        {
            for (int at = 0; at + chunk <= best.Length;)
            {
                var cut = best[..at].Concat(best[(at + chunk)..]).ToArray();
                if (stillFails(cut)) best = cut;
                else at += chunk;
            }
            if (best.Length > 4096 && chunk < best.Length / 64) break; // good enough for large inputs
        }
        return best;
    }
}
