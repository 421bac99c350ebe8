using System.Globalization;
using System.Text;

namespace PolyNet.Onnx.Data;

/// <summary>
/// A parser for the Python literal subset that .npy headers use: dicts, tuples, lists, strings, integers,
/// True/False/None. It never evaluates anything. Tuples and lists become List&lt;object?&gt;, integers long.
/// </summary>
internal sealed class PythonLiteral(string text)
{
    private int _pos;
    private int _depth;

    /// <summary>Nesting deeper than any .npy header needs (numpy writes depth 2) is refused, never recursed into.</summary>
    public const int MaxDepth = 32;

    public object? ParseValue()
    {
        var v = Value();
        Skip();
        if (_pos != text.Length && text[_pos..].Trim().Length != 0)
            throw new FormatException($"unexpected '{text[_pos]}' at {_pos}");
        return v;
    }

    private void Skip()
    {
        while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
    }

    private object? Value()
    {
        if (++_depth > MaxDepth) throw new FormatException($"nested more than {MaxDepth} levels deep at {_pos}");
        try { return ValueAt(); }
        finally { _depth--; }
    }

    private object? ValueAt()
    {
        Skip();
        if (_pos >= text.Length) throw new FormatException("unexpected end");
        char c = text[_pos];
        switch (c)
        {
            case '{': return Dict();
            case '(': return Seq('(', ')');
            case '[': return Seq('[', ']');
            case '\'' or '"': return Str();
        }
        if (char.IsDigit(c) || c == '-') return Int();
        foreach (var (word, value) in new (string, object?)[] { ("True", true), ("False", false), ("None", null) })
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) == 0)
            {
                _pos += word.Length;
                return value;
            }
        throw new FormatException($"unexpected '{c}' at {_pos}");
    }

    private Dictionary<string, object?> Dict()
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        _pos++;
        while (true)
        {
            Skip();
            if (_pos >= text.Length) throw new FormatException("unterminated dict");
            if (text[_pos] == '}') { _pos++; return d; }
            if (Value() is not string key) throw new FormatException("dict key is not a string");
            Skip();
            if (_pos >= text.Length || text[_pos] != ':') throw new FormatException("expected ':'");
            _pos++;
            d[key] = Value();
            Skip();
            if (_pos < text.Length && text[_pos] == ',') _pos++;
        }
    }

    private List<object?> Seq(char open, char close)
    {
        var l = new List<object?>();
        _pos++;
        while (true)
        {
            Skip();
            if (_pos >= text.Length) throw new FormatException($"unterminated '{open}'");
            if (text[_pos] == close) { _pos++; return l; }
            l.Add(Value());
            Skip();
            if (_pos < text.Length && text[_pos] == ',') _pos++;
        }
    }

    private string Str()
    {
        char q = text[_pos++];
        var sb = new StringBuilder();
        while (_pos < text.Length && text[_pos] != q)
        {
            if (text[_pos] == '\\' && _pos + 1 < text.Length) _pos++;
            sb.Append(text[_pos++]);
        }
        if (_pos >= text.Length) throw new FormatException("unterminated string");
        _pos++;
        return sb.ToString();
    }

    private long Int()
    {
        int start = _pos;
        if (text[_pos] == '-') _pos++;
        while (_pos < text.Length && char.IsDigit(text[_pos])) _pos++;
        if (_pos < text.Length && text[_pos] == 'L') _pos++; // Python 2 long suffix, in very old files
        var digits = text[start.._pos].TrimEnd('L');
        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new FormatException($"bad integer '{digits}'");
    }
}
