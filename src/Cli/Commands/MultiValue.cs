using System.CommandLine;

namespace PolyNet.Cli.Commands;

/// <summary>
/// Options that take several values after one flag (Polygraphy's spelling, <c>--atol 1e-5 out0:1e-3</c>) and may also
/// repeat. A flag takes the following tokens only while they look like its values, so a positional argument after
/// it (the model) is not swallowed.
/// </summary>
internal static class MultiValue
{
    public static Option<string[]> Create(string name, string description, string helpName, Func<string, bool> looksLikeValue)
    {
        var option = new Option<string[]>(name)
        {
            Description = description,
            HelpName = helpName,
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        option.CustomParser = result =>
        {
            int take = 0;
            foreach (var t in result.Tokens)
            {
                if (take > 0 && !looksLikeValue(t.Value)) break;
                take++;
            }
            if (take < result.Tokens.Count) result.OnlyTake(take);
            return result.Tokens.Take(take).Select(t => t.Value).ToArray();
        };
        return option;
    }

    /// <summary>"NAME:DIMS" or "DIMS"-like: a shape spec ends in digits, 'x', brackets or commas after the last ':'.</summary>
    public static bool LooksLikeShape(string s)
    {
        int c = s.LastIndexOf(':');
        var tail = c < 0 ? s : s[(c + 1)..];
        return c > 0 && tail.Length > 0 && tail.All(ch => char.IsDigit(ch) || ch is 'x' or '[' or ']' or ',' or '(' or ')' or ' ');
    }

    public static bool LooksLikeRange(string s) => s.Contains('[') || (s.Contains(',') && !s.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));
}
