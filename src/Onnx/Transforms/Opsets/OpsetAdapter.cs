using PolyNet.Onnx.Proto;

namespace PolyNet.Onnx.Transforms.Opsets;

/// <summary>
/// Converts one node across one change in the ONNX operator change log. Returns null when the node needs nothing
/// (the change does not touch it), otherwise the nodes that replace it, in order (usually new Constant inputs
/// followed by the node itself, changed in place).
/// </summary>
public delegate IReadOnlyList<NodeProto>? AdaptNode(UpgradeStep step, NodeProto node);

/// <summary>
/// One entry of the change log: at opset <paramref name="Version"/>, <paramref name="OpType"/> ("*" for every
/// operator) changed as <paramref name="Change"/> says, and <paramref name="Adapt"/> carries a node across.
/// </summary>
public sealed record OpsetAdapter(long Version, string OpType, string Change, AdaptNode Adapt);
