using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PolyNet.Onnx.Data;

/// <summary>One runner's results in a Polygraphy RunResults file: its name and one ValueMap per iteration.</summary>
public sealed record RunnerResults(string Runner, IReadOnlyList<ValueMap> Iterations, IReadOnlyList<double?> Runtimes);

/// <summary>
/// Polygraphy's JSON data files, both directions: RunResults (<c>polygraphy run --save-outputs</c>:
/// <c>{"lst": [[runner, [IterationResult...]]], "polygraphy_class": "RunResults"}</c>, each IterationResult
/// <c>{"outputs": {name: array}, "runtime": s, "runner_name": runner}</c>) and input lists (<c>--save-inputs</c>:
/// <c>[{name: array}, ...]</c>). An array is <c>{"array": base64 of the .npy bytes, "polygraphy_class": "ndarray"}</c>,
/// possibly wrapped as <c>{"values": array, "polygraphy_class": "LazyArray"}</c> (or the older "LazyNumpyArray").
/// Reading maps the file (<see cref="MappedFile"/>) and walks its structure without building a document tree; each
/// array's base64 string is decoded with the vectorized decoder, in parallel chunks, straight into its tensor, so no
/// array is ever held twice. A string the fast path cannot take (whitespace inside, an unusual .npy layout) is
/// streamed through the general decoder instead.
/// </summary>
public static class PolygraphyJson
{
    private const string Marker = "polygraphy_class";

    /// <summary>Reads a RunResults file (or an input list, returned as one pseudo-runner named after the file).</summary>
    public static IReadOnlyList<RunnerResults> Read(string path)
    {
        if (!File.Exists(path)) throw InvalidInputException.ForFile(path, Directory.Exists(path) ? "is a folder, not a JSON file" : "no such file");
        var p = new Parser(MappedFile.Open(path, "JSON file"), path);
        object? root;
        try
        {
            root = p.ParseValue();
            p.ExpectEnd();
        }
        catch (CryptographicException e)
        {
            throw InvalidInputException.ForFile(path, $"an array's base64 data is corrupt ({e.Message})");
        }
        catch (FormatException e)
        {
            throw InvalidInputException.ForFile(path, $"not valid JSON: {e.Message}");
        }
        return Interpret(root, path);
    }

    private static IReadOnlyList<RunnerResults> Interpret(object? root, string path)
    {
        if (root is List<object?> inputList)
        {
            var samples = inputList.Select((x, i) => x is Dictionary<string, object?> d ? ToValueMap(d, path, $"input list item {i}")
                : throw InvalidInputException.ForFile(path, $"input list item {i} is not a name-to-array object")).ToList();
            return [new RunnerResults(Path.GetFileNameWithoutExtension(path), samples, samples.Select(_ => (double?)null).ToList())];
        }
        if (root is not Dictionary<string, object?> obj || !obj.TryGetValue("lst", out var lst) || lst is not List<object?> runs)
            throw InvalidInputException.ForFile(path, "is JSON but neither Polygraphy RunResults ({\"lst\": ...}) nor an input list ([{...}, ...])");
        var result = new List<RunnerResults>();
        foreach (var run in runs)
        {
            if (run is not List<object?> { Count: 2 } pair || pair[0] is not string runner || pair[1] is not List<object?> iterations)
                throw InvalidInputException.ForFile(path, "RunResults entry is not [runner_name, [iterations]]");
            var maps = new List<ValueMap>();
            var times = new List<double?>();
            for (int i = 0; i < iterations.Count; i++)
            {
                if (iterations[i] is not Dictionary<string, object?> it || !it.TryGetValue("outputs", out var outs) || outs is not Dictionary<string, object?> outputs)
                    throw InvalidInputException.ForFile(path, $"runner '{runner}' iteration {i} has no outputs object");
                maps.Add(ToValueMap(outputs, path, $"runner '{runner}' iteration {i}"));
                times.Add(it.TryGetValue("runtime", out var rt) && rt is double d ? d : null);
            }
            result.Add(new RunnerResults(runner, maps, times));
        }
        return result;
    }

    private static ValueMap ToValueMap(Dictionary<string, object?> d, string path, string where)
    {
        var map = new ValueMap();
        foreach (var (name, v) in d)
        {
            if (name == Marker) continue;
            map.Add(name, v as TensorData ?? throw InvalidInputException.ForFile(path, $"{where}: '{name}' is not an array"));
        }
        return map;
    }

    /// <summary>Writes a RunResults file (one entry per runner), atomically.</summary>
    public static void WriteRunResults(string path, IReadOnlyList<RunnerResults> runs)
        => WriteAtomically(path, w =>
        {
            w.Write("{\n  \"lst\": [");
            for (int r = 0; r < runs.Count; r++)
            {
                w.Write(r == 0 ? "\n    [" : ",\n    [");
                w.Write(Quote(runs[r].Runner));
                w.Write(", [");
                for (int i = 0; i < runs[r].Iterations.Count; i++)
                {
                    w.Write(i == 0 ? "\n      {" : ",\n      {");
                    w.Write("\"outputs\": {");
                    WriteArrays(w, runs[r].Iterations[i], "        ");
                    w.Write("}, \"runtime\": ");
                    var rt = i < runs[r].Runtimes.Count ? runs[r].Runtimes[i] : null;
                    w.Write(rt is { } t ? t.ToString("R", CultureInfo.InvariantCulture) : "null");
                    w.Write($", \"runner_name\": {Quote(runs[r].Runner)}, \"{Marker}\": \"IterationResult\"}}");
                }
                w.Write("\n    ]]");
            }
            w.Write($"\n  ],\n  \"{Marker}\": \"RunResults\"\n}}\n");
        });

    /// <summary>Writes an input list ([{name: array}, ...]), atomically.</summary>
    public static void WriteInputList(string path, IReadOnlyList<ValueMap> samples)
        => WriteAtomically(path, w =>
        {
            w.Write("[");
            for (int i = 0; i < samples.Count; i++)
            {
                w.Write(i == 0 ? "\n  {" : ",\n  {");
                WriteArrays(w, samples[i], "    ");
                w.Write("}");
            }
            w.Write("\n]\n");
        });

    private static void WriteArrays(StreamWriter w, ValueMap values, string indent)
    {
        bool first = true;
        foreach (var (name, t) in Npz.Flatten(values))
        {
            w.Write(first ? "\n" : ",\n");
            first = false;
            w.Write(indent);
            w.Write(Quote(name));
            w.Write(": {\"array\": \"");
            w.Flush();
            // The .npy bytes (header, then the tensor's own bytes) base64-encoded straight into the file.
            var npy = t.ElementType == ElementType.BFloat16 ? Npz.ToFloat32(t) : t;
            WriteBase64(w.BaseStream, Npy.HeaderBytes(npy), npy.ElementType == ElementType.String ? Npy.StringPayload(npy) : npy.Bytes);
            w.Write($"\", \"{Marker}\": \"ndarray\"}}");
        }
    }

    /// <summary>Base64 of <paramref name="head"/> followed by <paramref name="data"/>, encoded by the vectorized encoder in 3 MiB steps.</summary>
    private static void WriteBase64(Stream s, ReadOnlySpan<byte> head, ReadOnlySpan<byte> data)
    {
        var buffer = new byte[4 << 20];
        // The head and the first bytes of the data that complete its last 3-byte group, encoded together.
        int fill = Math.Min(data.Length, (3 - head.Length % 3) % 3);
        var first = new byte[head.Length + fill];
        head.CopyTo(first);
        data[..fill].CopyTo(first.AsSpan(head.Length));
        data = data[fill..];
        Base64.EncodeToUtf8(first, buffer, out _, out int n, isFinalBlock: data.IsEmpty);
        s.Write(buffer, 0, n);
        const int step = 3 << 20;
        while (!data.IsEmpty)
        {
            var part = data[..Math.Min(step, data.Length)];
            data = data[part.Length..];
            Base64.EncodeToUtf8(part, buffer, out _, out n, isFinalBlock: data.IsEmpty);
            s.Write(buffer, 0, n);
        }
    }

    private static void WriteAtomically(string path, Action<StreamWriter> write) => AtomicFile.Write(path, fs =>
    {
        using var w = new StreamWriter(fs, new UTF8Encoding(false), leaveOpen: true);
        write(w);
    });

    private static string Quote(string s) => "\"" + System.Text.Json.JsonEncodedText.Encode(s).ToString() + "\"";

    /// <summary>
    /// A small JSON parser over a stream: objects, arrays, strings, numbers, true/false/null. The value of every
    /// "array" key is never materialized as a string: its characters are streamed through a base64 decoder into
    /// the .npy reader, which returns the tensor. Objects tagged as ndarray or lazy arrays collapse to that tensor.
    /// </summary>
    private sealed class Parser(MappedFile file, string path)
    {
        private readonly Stream s = file.Stream(0, file.Length);
        private readonly byte[] _buf = new byte[1 << 16];
        private int _len, _pos;
        private long _consumed;
        private int _depth;

        private int Peek()
        {
            if (_pos == _len)
            {
                _consumed += _len;
                _len = s.Read(_buf, 0, _buf.Length);
                _pos = 0;
                if (_len <= 0) { _len = 0; return -1; }
            }
            return _buf[_pos];
        }

        private int Next()
        {
            int c = Peek();
            if (c >= 0) _pos++;
            return c;
        }

        private void SkipWs()
        {
            while (Peek() is ' ' or '\t' or '\n' or '\r') _pos++;
        }

        private FormatException Error(string what) => new JsonSyntax($"{what} at byte {_consumed + _pos}");

        /// <summary>A syntax error in the JSON itself (as opposed to bad base64 inside a string).</summary>
        private sealed class JsonSyntax(string message) : FormatException(message);

        public void ExpectEnd()
        {
            SkipWs();
            if (Peek() != -1) throw Error("unexpected data after the end");
        }

        public object? ParseValue()
        {
            SkipWs();
            int c = Peek();
            switch (c)
            {
                case '{': return ParseObject();
                case '[': return ParseArray();
                case '"': _pos++; return ReadString();
                case 't': Literal("true"); return true;
                case 'f': Literal("false"); return false;
                case 'n': Literal("null"); return null;
                case -1: throw Error("the file ends early");
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                    throw Error($"unexpected '{(char)c}'");
            }
        }

        private void Literal(string word)
        {
            foreach (var ch in word)
                if (Next() != ch) throw Error($"bad literal (expected {word})");
        }

        private double ReadNumber()
        {
            var sb = new StringBuilder();
            while (Peek() is var c && (c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9'))) sb.Append((char)Next());
            return double.TryParse(sb.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw Error($"bad number '{sb}'");
        }

        private string ReadString()
        {
            var bytes = new List<byte>();
            while (true)
            {
                int c = Next();
                if (c == -1) throw Error("unterminated string");
                if (c == '"') break;
                if (c == '\\')
                {
                    int e = Next();
                    switch (e)
                    {
                        case '"': bytes.Add((byte)'"'); break;
                        case '\\': bytes.Add((byte)'\\'); break;
                        case '/': bytes.Add((byte)'/'); break;
                        case 'b': bytes.Add(8); break;
                        case 'f': bytes.Add(12); break;
                        case 'n': bytes.Add(10); break;
                        case 'r': bytes.Add(13); break;
                        case 't': bytes.Add(9); break;
                        case 'u':
                            var hex = new string([(char)Next(), (char)Next(), (char)Next(), (char)Next()]);
                            if (!int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code)) throw Error("bad \\u escape");
                            bytes.AddRange(Encoding.UTF8.GetBytes(((char)code).ToString()));
                            break;
                        default: throw Error("bad escape");
                    }
                }
                else bytes.Add((byte)c);
            }
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        private List<object?> ParseArray()
        {
            _pos++;
            if (++_depth > 64) throw Error("nesting too deep");
            var list = new List<object?>();
            SkipWs();
            if (Peek() == ']') { _pos++; _depth--; return list; }
            while (true)
            {
                list.Add(ParseValue());
                SkipWs();
                int c = Next();
                if (c == ']') break;
                if (c != ',') throw Error("expected ',' or ']'");
            }
            _depth--;
            return list;
        }

        private object? ParseObject()
        {
            _pos++;
            if (++_depth > 64) throw Error("nesting too deep");
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            SkipWs();
            if (Peek() == '}') { _pos++; _depth--; return d; }
            while (true)
            {
                SkipWs();
                if (Next() != '"') throw Error("expected a key");
                var key = ReadString();
                SkipWs();
                if (Next() != ':') throw Error("expected ':'");
                SkipWs();
                d[key] = key == "array" && Peek() == '"' ? StreamArray() : ParseValue();
                SkipWs();
                int c = Next();
                if (c == '}') break;
                if (c != ',') throw Error("expected ',' or '}'");
            }
            _depth--;
            // {"array": ..., "polygraphy_class": "ndarray"} and {"values": ...} wrappers collapse to the tensor.
            if (d.TryGetValue("array", out var arr) && arr is TensorData t) return t;
            if (d.TryGetValue(Marker, out var cls) && cls is "LazyArray" or "LazyNumpyArray" && d.TryGetValue("values", out var vals)) return vals;
            return d;
        }

        private TensorData StreamArray()
        {
            _pos++; // opening quote
            long at = _consumed + _pos;
            long end = FindQuote(at);
            var source = $"{path} (array at byte {at})";
            var t = DecodeParallel(at, end, source) ?? DecodeStreaming(at, end, source);
            // Continue after the closing quote.
            s.Position = end + 1;
            _consumed = end + 1;
            _len = _pos = 0;
            return t;
        }

        /// <summary>The position of the quote that closes the string starting at <paramref name="at"/>.</summary>
        private long FindQuote(long at)
        {
            for (long from = at; from < file.Length; from += 1 << 30)
            {
                int n = (int)Math.Min(1 << 30, file.Length - from);
                int i = file.Span(from, n).IndexOf((byte)'"');
                if (i >= 0) return from + i;
            }
            throw Error("unterminated array string");
        }

        /// <summary>
        /// The fast path: base64 without whitespace holding a little-endian C-order array. The .npy header is decoded
        /// first; then 4-character groups decode to 3 bytes each, so the groups that fall wholly inside the array's
        /// data are decoded in parallel chunks straight to their place in the tensor, and the few bytes at either end
        /// through small buffers. Null: take the streaming path.
        /// </summary>
        private TensorData? DecodeParallel(long at, long end, string source)
        {
            long chars = end - at;
            if (chars % 4 != 0 || chars < 8) return null;
            var head = new byte[(int)Math.Min(chars, 1 << 16) / 4 * 3];
            if (Base64.DecodeFromUtf8(file.Span(at, head.Length / 3 * 4), head, out _, out int headBytes) != OperationStatus.Done) return null;
            var last = file.Span(end - 2, 2);
            int padding = last[1] == '=' ? (last[0] == '=' ? 2 : 1) : 0;
            long decoded = chars / 4 * 3 - padding;
            NpyHeader header;
            long h;
            using (var hs = new MemoryStream(head, 0, headBytes))
            {
                try { header = Npy.ReadHeader(hs, source); }
                catch (InvalidInputException) when (headBytes < head.Length) { return null; }
                h = hs.Position;
            }
            var (type, itemSize, bigEndian) = Npy.ParseDescr(header.Descr, source);
            if (type == ElementType.String || (bigEndian && itemSize > 1) || (header.FortranOrder && header.Shape.Length > 1)) return null;
            long count;
            try { count = header.ElementCount; }
            catch (OverflowException) { return null; }
            if (count > Array.MaxLength / Math.Max(1, itemSize) || h + count * itemSize > decoded) return null; // the streaming path words the error
            long bytes = count * itemSize;
            var t = TensorData.Allocate(type, new TensorShape(header.Shape));
            var dst = t.Memory;
            long g0 = (h + 2) / 3, g1 = (h + bytes) / 3;   // groups wholly inside the data: [g0, g1)
            if (g0 >= g1 || g0 * 3 > headBytes)
            {
                if (h + bytes > headBytes) return null;
                head.AsSpan((int)h, (int)bytes).CopyTo(dst.Span);
                return Normalize(t);
            }
            head.AsSpan((int)h, (int)(g0 * 3 - h)).CopyTo(dst.Span);
            const long chunk = 1 << 20; // groups per task: 4 MiB of base64
            long tasks = (g1 - g0 + chunk - 1) / chunk;
            bool bad = false;
            Parallel.For(0L, tasks, k =>
            {
                long a = g0 + k * chunk, b = Math.Min(g1, a + chunk);
                var status = Base64.DecodeFromUtf8(file.Span(at + a * 4, (int)((b - a) * 4)), dst.Span.Slice((int)(a * 3 - h), (int)((b - a) * 3)), out _, out int written);
                if (status != OperationStatus.Done || written != (b - a) * 3) bad = true;
            });
            if (bad) throw InvalidInputException.ForFile(path, $"the array at byte {at} is not valid base64 data");
            long tailBytes = h + bytes - g1 * 3;
            if (tailBytes > 0)
            {
                Span<byte> tail = stackalloc byte[3];
                if (Base64.DecodeFromUtf8(file.Span(at + g1 * 4, 4), tail, out _, out int w) != OperationStatus.Done || w < tailBytes)
                    throw InvalidInputException.ForFile(path, $"the array at byte {at} is not valid base64 data");
                tail[..(int)tailBytes].CopyTo(dst.Span[(int)(g1 * 3 - h)..]);
            }
            return Normalize(t);
        }

        private static TensorData Normalize(TensorData t)
        {
            if (t.ElementType == ElementType.Bool)
            {
                var b = t.Bytes;
                for (int i = 0; i < b.Length; i++) b[i] = b[i] != 0 ? (byte)1 : (byte)0;
            }
            return t;
        }

        /// <summary>The general path: the characters streamed through a whitespace-tolerant base64 decoder into the .npy reader.</summary>
        private TensorData DecodeStreaming(long at, long end, string source)
        {
            using var decoded = new Base64Stream(file.Stream(at, end - at));
            try
            {
                // The base64 holds at most 3 bytes per 4 characters: an array declaring more is refused before allocation.
                return Npy.Read(decoded, source, (end - at) / 4 * 3 + 3);
            }
            catch (FormatException e) when (e is not JsonSyntax)
            {
                throw InvalidInputException.ForFile(path, $"the array at byte {at} is not valid base64 data ({e.Message.Split('\n')[0]})");
            }
        }

    }

    /// <summary>
    /// Base64 characters (whitespace skipped) decoded as they are read, through a bounded buffer: the general path's
    /// decoder. Bad characters or a length that is not a whole number of 4-character groups are a FormatException.
    /// </summary>
    private sealed class Base64Stream(Stream chars) : ReadOnlyStream
    {
        private readonly byte[] _in = new byte[1 << 16];
        private readonly byte[] _out = new byte[(1 << 16) / 4 * 3];
        private int _inCount, _outPos, _outCount;
        private bool _end;

        public override int Read(Span<byte> buffer)
        {
            while (_outPos == _outCount)
            {
                if (_end) return 0;
                Fill();
            }
            int n = Math.Min(buffer.Length, _outCount - _outPos);
            _out.AsSpan(_outPos, n).CopyTo(buffer);
            _outPos += n;
            return n;
        }

        /// <summary>Reads characters (dropping whitespace) until whole groups are buffered, and decodes them.</summary>
        private void Fill()
        {
            var raw = new byte[_in.Length - _inCount];
            int got = chars.Read(raw, 0, raw.Length);
            for (int i = 0; i < got; i++)
                if (raw[i] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) _in[_inCount++] = raw[i];
            if (got == 0) _end = true;
            // The last group waits for the end: only the final block may hold '=' padding.
            int whole = _end ? _inCount : Math.Max(0, _inCount / 4 * 4 - 4);
            if (_end && whole % 4 != 0) throw new FormatException($"the base64 text ends in the middle of a 4-character group ({whole % 4} left over)");
            var status = Base64.DecodeFromUtf8(_in.AsSpan(0, whole), _out, out int used, out int written, isFinalBlock: _end);
            if (status == OperationStatus.InvalidData) throw new FormatException("a character that is not base64");
            if (_end && status != OperationStatus.Done) throw new FormatException("the base64 text is incomplete");
            _in.AsSpan(used, _inCount - used).CopyTo(_in);
            _inCount -= used;
            _outPos = 0;
            _outCount = written;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) chars.Dispose();
            base.Dispose(disposing);
        }
    }
}
