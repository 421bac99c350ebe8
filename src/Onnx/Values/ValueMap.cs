using System.Collections;

namespace PolyNet.Onnx;

/// <summary>
/// Named values in a fixed order (a model's inputs or outputs, one sample of a data file).
/// Lookup by name is ordinal and case-sensitive, like ONNX names. Adding a name twice is an error.
/// </summary>
public sealed class ValueMap : IReadOnlyDictionary<string, OnnxValue>
{
    private readonly List<KeyValuePair<string, OnnxValue>> _items = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public ValueMap() { }

    public ValueMap(IEnumerable<KeyValuePair<string, OnnxValue>> items)
    {
        foreach (var (k, v) in items) Add(k, v);
    }

    public void Add(string name, OnnxValue value)
    {
        if (!_index.TryAdd(name, _items.Count))
            throw new ArgumentException($"value '{name}' appears twice");
        _items.Add(new(name, value));
    }

    /// <summary>Adds or replaces <paramref name="name"/>, keeping its position when it exists.</summary>
    public void Set(string name, OnnxValue value)
    {
        if (_index.TryGetValue(name, out var i)) _items[i] = new(name, value);
        else Add(name, value);
    }

    public OnnxValue this[string key] => _items[_index.TryGetValue(key, out var i) ? i : throw new KeyNotFoundException($"no value named '{key}'")].Value;
    public KeyValuePair<string, OnnxValue> this[int position] => _items[position];
    public IEnumerable<string> Keys => _items.Select(p => p.Key);
    public IEnumerable<OnnxValue> Values => _items.Select(p => p.Value);
    public int Count => _items.Count;
    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out OnnxValue value)
    {
        if (_index.TryGetValue(key, out var i)) { value = _items[i].Value; return true; }
        value = null;
        return false;
    }

    /// <summary>The tensor named <paramref name="key"/>, or an error saying it is not a tensor.</summary>
    public TensorData Tensor(string key) => this[key] as TensorData
        ?? throw new InvalidOperationException($"value '{key}' is a {this[key].Kind}, not a tensor");

    public IEnumerator<KeyValuePair<string, OnnxValue>> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
