using System.Buffers.Binary;
using System.Text;

namespace PolyNet.Calibration;

/// <summary>The one FlatBuffers table PolyNet writes: ONNX Runtime's calibration table for its TensorRT provider.</summary>
public static class FlatBuffers
{
    /// <summary>
    /// ONNX Runtime's TrtTable { dict: [KeyValue { key: string; value: string }] } in FlatBuffers' layout, built the way
    /// its writer builds it (entries in descending key order): root offset, then each table with a vtable before it.
    /// </summary>
    public static byte[] TrtTable(IReadOnlyList<(string Key, string Value)> entries)
    {
        // Forward layout: [root offset][TrtTable vtable][TrtTable][vector][KeyValue vtable + table]*[strings]*
        var b = new List<byte>();
        void U32(uint v) { var t = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(t, v); b.AddRange(t); }
        void U16(ushort v) { var t = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(t, v); b.AddRange(t); }
        void I32(int v) { var t = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(t, v); b.AddRange(t); }
        void Patch(int at, uint v) { var t = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(t, v); for (int i = 0; i < 4; i++) b[at + i] = t[i]; }
        var sorted = entries.OrderByDescending(e => e.Key, StringComparer.Ordinal).ToList();
        U32(0);                                        // root offset, patched below
        int tableVtable = b.Count; U16(6); U16(8); U16(4); // vtable: size 6, table size 8, field 0 at +4
        U16(0);                                        // padding to 4
        int table = b.Count; I32(table - tableVtable); int dictField = b.Count; U32(0);
        Patch(0, (uint)table);
        int vector = b.Count; U32((uint)sorted.Count);
        int slots = b.Count; foreach (var _ in sorted) U32(0);
        Patch(dictField, (uint)(vector - dictField));
        var fields = new List<(int Key, int Value)>();
        for (int i = 0; i < sorted.Count; i++)
        {
            int vt = b.Count; U16(8); U16(12); U16(4); U16(8); // vtable: key at +4, value at +8
            int kv = b.Count; I32(kv - vt); int keyField = b.Count; U32(0); int valueField = b.Count; U32(0);
            Patch(slots + 4 * i, (uint)(kv - (slots + 4 * i)));
            fields.Add((keyField, valueField));
        }
        for (int i = 0; i < sorted.Count; i++)
        {
            foreach (var (field, text) in new[] { (fields[i].Key, sorted[i].Key), (fields[i].Value, sorted[i].Value) })
            {
                while (b.Count % 4 != 0) b.Add(0);
                int s = b.Count;
                var bytes = Encoding.UTF8.GetBytes(text);
                U32((uint)bytes.Length); b.AddRange(bytes); b.Add(0);
                Patch(field, (uint)(s - field));
            }
        }
        while (b.Count % 4 != 0) b.Add(0);
        return b.ToArray();
    }
}
