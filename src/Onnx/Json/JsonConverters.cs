using System.Text.Json;
using System.Text.Json.Serialization;

namespace PolyNet.Onnx.Json;

/// <summary>Doubles as JSON numbers; NaN and infinities (which JSON lacks) as the strings "nan", "inf" and "-inf".</summary>
public sealed class NamedNonFiniteDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number) return reader.GetDouble();
        return reader.GetString() switch
        {
            "nan" => double.NaN,
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            var s => throw new JsonException($"'{s}' is not a number"),
        };
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteStringValue(double.IsNaN(value) ? "nan" : value > 0 ? "inf" : "-inf");
    }
}

/// <summary>Floats as <see cref="NamedNonFiniteDoubleConverter"/> writes doubles.</summary>
public sealed class NamedNonFiniteSingleConverter : JsonConverter<float>
{
    private static readonly NamedNonFiniteDoubleConverter Double = new();
    public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => (float)Double.Read(ref reader, typeof(double), options);
    public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options) => Double.Write(writer, value, options);
}

/// <summary>Element types by their numpy-style names ("float32", "int64"), as every report shows them.</summary>
public sealed class ElementTypeConverter : JsonConverter<ElementType>
{
    public override ElementType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.GetString();
        return Enum.GetValues<ElementType>().FirstOrDefault(t => t.DisplayName() == name);
    }

    public override void Write(Utf8JsonWriter writer, ElementType value, JsonSerializerOptions options) => writer.WriteStringValue(value.DisplayName());
}

/// <summary>Shapes as arrays of dimensions.</summary>
public sealed class TensorShapeConverter : JsonConverter<TensorShape>
{
    public override TensorShape Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var dims = new List<long>();
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("a shape is an array of dimensions");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) dims.Add(reader.GetInt64());
        return new TensorShape(dims);
    }

    public override void Write(Utf8JsonWriter writer, TensorShape value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var d in value.Dims) writer.WriteNumberValue(d);
        writer.WriteEndArray();
    }
}

/// <summary>Durations in milliseconds (properties holding them say "_ms").</summary>
public sealed class MillisecondsConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => TimeSpan.FromMilliseconds(reader.GetDouble());
    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) => writer.WriteNumberValue(Math.Round(value.TotalMilliseconds, 3));
}

/// <summary>Enum values as snake_case strings ("elemwise", "fp16"), trim-safe (register one per enum type).</summary>
public sealed class SnakeCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.SnakeCaseLower) where TEnum : struct, Enum;
