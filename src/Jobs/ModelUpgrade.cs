using PolyNet.Onnx.Transforms.Opsets;

namespace PolyNet.Jobs;

/// <summary>`--upgrade-opset N` (run, reduce, suite): the model upgraded before anything runs, and what that changed said.</summary>
public static class ModelUpgrade
{
    public static OnnxModel Apply(OnnxModel model, long? target, IJobLog log)
    {
        if (target is not { } t) return model;
        var r = OpsetUpgrade.Apply(model, t);
        if (r.FromOpset == r.ToOpset)
            log.Warning($"--upgrade-opset {t}: {model.DisplayName} already is opset {t}; the upgrade changes nothing");
        else if (r.OnlyVersionChanged)
            log.Info($"upgraded from opset {r.FromOpset} to {t}: no node needed a change, only the opset{(r.ToIrVersion != r.FromIrVersion ? $" and IR version ({r.FromIrVersion} → {r.ToIrVersion})" : "")} moved");
        else
            log.Info($"upgraded from opset {r.FromOpset} to {t}: {Describe(r)}");
        return r.Model;
    }

    /// <summary>"3 node changes: Add-7 ×2 (…), …" for messages.</summary>
    public static string Describe(OpsetUpgradeResult r)
        => $"{r.NodesChanged} node change(s): {string.Join("; ", r.Changes.Select(c => $"{c.OpType}-{c.Version} ×{c.Nodes} ({c.Change})"))}";
}
