using System.CommandLine;

namespace PolyNet.Cli.Commands;

/// <summary>
/// Options that take several values after one flag (Polygraphy's spelling, <c>--atol 1e-5 out0:1e-3</c>) and may also
/// repeat. Before parsing, <see cref="Expand"/> rewrites <c>--atol a b</c> as <c>--atol a --atol b</c>, taking a token as
/// the flag's value only while it looks like one; so a positional argument after the values (the model) is not
/// swallowed, and each value reaches the parser as a plain repeated option.
/// </summary>
internal static class MultiValue
{
    private static readonly Dictionary<string, Func<string, bool>> Registry = new(StringComparer.Ordinal);

    public static Option<string[]> Create(string name, string description, string helpName, Func<string, bool> looksLikeValue)
    {
        lock (Registry)
        {
            // The rewrite happens before the command is known, so one flag name has one rule in every command.
            if (Registry.TryGetValue(name, out var rule) && rule != looksLikeValue)
                throw new InvalidOperationException($"{name} is registered with two different value rules");
            Registry[name] = looksLikeValue;
        }
        return new Option<string[]>(name)
        {
            Description = description + " (several after one flag, or repeat the flag)",
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
    }

    /// <summary>Rewrites "--opt v1 v2" as "--opt v1 --opt v2" for every registered multi-value option.</summary>
    public static string[] Expand(IReadOnlyList<string> args)
    {
        var result = new List<string>(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            result.Add(a);
            if (a == "--") { result.AddRange(args.Skip(i + 1)); break; }
            Func<string, bool>? looks;
            lock (Registry) Registry.TryGetValue(a, out looks);
            if (looks is null) continue;
            if (i + 1 < args.Count) result.Add(args[++i]); // the first value is the flag's whatever it looks like
            while (i + 1 < args.Count && !IsOption(args[i + 1]) && looks(args[i + 1]))
            {
                result.Add(a);
                result.Add(args[++i]);
            }
        }
        return result.ToArray();
    }

    /// <summary>"--name" or "-o": the next option, never a value (a value may start with '-' before a digit: "-1").</summary>
    private static bool IsOption(string s) => s.StartsWith("--", StringComparison.Ordinal) || (s.Length > 1 && s[0] == '-' && char.IsLetter(s[1]));

    /// <summary>"NAME:DIMS": a shape spec ends in digits, 'x', brackets or commas after the last ':'.</summary>
    public static bool LooksLikeShape(string s)
    {
        int c = s.LastIndexOf(':');
        var tail = c < 0 ? s : s[(c + 1)..];
        return c > 0 && tail.Length > 0 && tail.All(ch => char.IsDigit(ch) || ch is 'x' or '[' or ']' or ',' or '(' or ')' or ' ');
    }

    /// <summary>Any word but a model file: for values with no shape of their own (paths, tensor names, regexes).</summary>
    public static bool NotAModel(string s) => !s.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    public static bool LooksLikeRange(string s) => s.Contains('[') || (s.Contains(',') && !s.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));
}
