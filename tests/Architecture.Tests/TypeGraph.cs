using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace PolyNet.Architecture.Tests;

/// <summary>
/// Which namespaces of one assembly use which, read from its compiled metadata: base types, interfaces, field,
/// property and method signatures, and every type, method and field a method body names (IL tokens). Nested and
/// compiler-generated types (lambdas, iterators) count as their outermost type. Namespaces follow folders.
/// </summary>
public static class TypeGraph
{
    private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>Edges between the folders (under <paramref name="sourceRoot"/>) that declare the types, by the sources' type declarations.</summary>
    public static Dictionary<string, HashSet<string>> FolderEdges(string assemblyPath, string sourceRoot) => FolderEdges(assemblyPath, sourceRoot, out _);

    /// <param name="why">For each folder edge "A -> B", the type uses that make it ("A.X uses B.Y").</param>
    public static Dictionary<string, HashSet<string>> FolderEdges(string assemblyPath, string sourceRoot, out Dictionary<string, List<string>> why)
    {
        why = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var folders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(sourceRoot, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            var ns = System.Text.RegularExpressions.Regex.Match(text, @"^namespace ([\w.]+);", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;
            var folder = Path.GetRelativePath(sourceRoot, Path.GetDirectoryName(file)!);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"^(?:public |internal )?(?:static |sealed |abstract |readonly |partial |unsafe )*(?:class|record struct|record|struct|interface|enum|delegate [\w<>?,\s]+?) (\w+)", System.Text.RegularExpressions.RegexOptions.Multiline))
                folders.TryAdd($"{ns}.{m.Groups[1].Value}", folder);
        }
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (from, tos) in TypeEdges(assemblyPath))
        {
            if (!folders.TryGetValue(from, out var a)) continue;
            foreach (var to in tos)
                if (folders.TryGetValue(to, out var b) && a != b)
                {
                    var key = $"{a} -> {b}";
                    if (!why.TryGetValue(key, out var list)) why[key] = list = [];
                    list.Add($"{from} uses {to}");
                    if (!edges.TryGetValue(a, out var set)) edges[a] = set = new HashSet<string>(StringComparer.Ordinal);
                    set.Add(b);
                }
        }
        return edges;
    }

    /// <summary>Edges between namespaces.</summary>
    public static Dictionary<string, HashSet<string>> NamespaceEdges(string assemblyPath)
    {
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (from, tos) in TypeEdges(assemblyPath))
            foreach (var to in tos)
            {
                string na = from[..Math.Max(0, from.LastIndexOf('.'))], nb = to[..Math.Max(0, to.LastIndexOf('.'))];
                if (na == nb) continue;
                if (!edges.TryGetValue(na, out var set)) edges[na] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(nb);
            }
        return edges;
    }

    /// <summary>For every outermost type ("Namespace.Name", generic arity dropped), the other outermost types it uses.</summary>
    public static Dictionary<string, HashSet<string>> TypeEdges(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var edges = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        string NameOf(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            while (t.IsNested) t = md.GetTypeDefinition(t.GetDeclaringType());
            var name = md.GetString(t.Name);
            int tick = name.IndexOf('`', StringComparison.Ordinal);
            return $"{md.GetString(t.Namespace)}.{(tick < 0 ? name : name[..tick])}";
        }
        foreach (var h in md.TypeDefinitions)
        {
            var from = NameOf(h);
            if (from.StartsWith('.')) continue; // <Module>, compiler-generated helpers
            var used = new HashSet<TypeDefinitionHandle>();
            var provider = new Collector(used);
            var t = md.GetTypeDefinition(h);
            void Entity(EntityHandle e)
            {
                switch (e.Kind)
                {
                    case HandleKind.TypeDefinition: used.Add((TypeDefinitionHandle)e); break;
                    case HandleKind.TypeSpecification: md.GetTypeSpecification((TypeSpecificationHandle)e).DecodeSignature(provider, null); break;
                    case HandleKind.MethodDefinition:
                        var m = md.GetMethodDefinition((MethodDefinitionHandle)e);
                        used.Add(m.GetDeclaringType());
                        m.DecodeSignature(provider, null);
                        break;
                    case HandleKind.FieldDefinition: used.Add(md.GetFieldDefinition((FieldDefinitionHandle)e).GetDeclaringType()); break;
                    case HandleKind.MemberReference:
                        var r = md.GetMemberReference((MemberReferenceHandle)e);
                        if (!r.Parent.IsNil && r.Parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeSpecification) Entity(r.Parent);
                        break;
                    case HandleKind.MethodSpecification:
                        var s = md.GetMethodSpecification((MethodSpecificationHandle)e);
                        Entity(s.Method);
                        s.DecodeSignature(provider, null);
                        break;
                }
            }
            if (!t.BaseType.IsNil) Entity(t.BaseType);
            foreach (var i in t.GetInterfaceImplementations()) Entity(md.GetInterfaceImplementation(i).Interface);
            foreach (var f in t.GetFields()) md.GetFieldDefinition(f).DecodeSignature(provider, null);
            foreach (var mh in t.GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                m.DecodeSignature(provider, null);
                if (m.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(m.RelativeVirtualAddress).GetILReader();
                while (il.RemainingBytes > 0)
                {
                    short code = il.ReadByte();
                    if (code == 0xFE) code = (short)(0xFE00 | il.ReadByte());
                    switch (Operands[code])
                    {
                        case OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok:
                            var token = il.ReadInt32();
                            var handle = MetadataTokens.EntityHandle(token);
                            Entity(handle);
                            break;
                        case OperandType.InlineSwitch:
                            int targets = il.ReadInt32();
                            il.Offset += 4 * targets;
                            break;
                        case OperandType.InlineI8 or OperandType.InlineR: il.Offset += 8; break;
                        case OperandType.InlineNone: break;
                        case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: il.Offset += 1; break;
                        case OperandType.InlineVar: il.Offset += 2; break;
                        default: il.Offset += 4; break;
                    }
                }
            }
            foreach (var u in used)
            {
                var to = NameOf(u);
                if (to.StartsWith('.') || to == from) continue;
                if (!edges.TryGetValue(from, out var set)) edges[from] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(to);
            }
        }
        return edges;
    }

    /// <summary>A cycle among the namespaces, as a path "A -> B -> A", or null when there is none.</summary>
    public static string? FindCycle(Dictionary<string, HashSet<string>> edges)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new List<string>();
        string? Visit(string n)
        {
            state[n] = 1;
            path.Add(n);
            foreach (var m in edges.GetValueOrDefault(n) ?? [])
            {
                if (state.GetValueOrDefault(m) == 1) return string.Join(" -> ", path.SkipWhile(p => p != m).Append(m));
                if (state.GetValueOrDefault(m) == 0 && Visit(m) is { } c) return c;
            }
            path.RemoveAt(path.Count - 1);
            state[n] = 2;
            return null;
        }
        foreach (var n in edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(n) == 0 && Visit(n) is { } cycle) return cycle;
        return null;
    }

    /// <summary>Records every type definition of this assembly that a signature names.</summary>
    private sealed class Collector(HashSet<TypeDefinitionHandle> used) : ISignatureTypeProvider<object?, object?>
    {
        public object? GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            used.Add(handle);
            return null;
        }

        public object? GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => null;
        public object? GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind)
            => reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
        public object? GetSZArrayType(object? elementType) => null;
        public object? GetArrayType(object? elementType, ArrayShape shape) => null;
        public object? GetByReferenceType(object? elementType) => null;
        public object? GetPointerType(object? elementType) => null;
        public object? GetGenericInstantiation(object? genericType, ImmutableArray<object?> typeArguments) => null;
        public object? GetGenericMethodParameter(object? genericContext, int index) => null;
        public object? GetGenericTypeParameter(object? genericContext, int index) => null;
        public object? GetFunctionPointerType(MethodSignature<object?> signature) => null;
        public object? GetModifiedType(object? modifier, object? unmodifiedType, bool isRequired) => null;
        public object? GetPinnedType(object? elementType) => null;
        public object? GetPrimitiveType(PrimitiveTypeCode typeCode) => null;
    }
}
