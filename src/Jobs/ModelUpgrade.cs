using PolyNet.Onnx.Transforms.Opsets;

namespace PolyNet.Jobs;

/// <summary>`--upgrade-opset N` (run, reduce, suite): the model upgraded before anything runs, and what that changed said.</summary>
public static class ModelUpgrade
{
    /// <summary>Checks the option's value before any work: one line, once, whatever the number of models.</summary>
    public static void Validate(long? target)
    {
        if (target is { } t && (t < OpsetUpgrade.MinTarget || t > OpsetUpgrade.MaxTarget))
            throw new InvalidInputException($"--upgrade-opset {t}: PolyNet upgrades models to opsets {OpsetUpgrade.MinTarget} to {OpsetUpgrade.MaxTarget}");
    }

    /// <summary>The model upgraded to <paramref name="target"/>; a model already at or above it is left as it is (the option is a floor).</summary>
    public static OnnxModel Apply(OnnxModel model, long? target, IJobLog log)
    {
        if (target is not { } t) return model;
        Validate(t);
        if (model.OpsetVersion() is { } current && current >= t)
        {
            log.Info($"--upgrade-opset {t}: {model.DisplayName} is opset {current} already; left as it is");
            return model;
        }
        var r = OpsetUpgrade.Apply(model, t);
        if (r.OnlyVersionChanged)
            log.Info($"upgraded from opset {r.FromOpset} to {t}: no node needed a change, only the opset{(r.ToIrVersion != r.FromIrVersion ? $" and IR version ({r.FromIrVersion} → {r.ToIrVersion})" : "")} moved");
        else
            log.Info($"upgraded from opset {r.FromOpset} to {t}: {Describe(r)}");
        return r.Model;
    }

    /// <summary>"3 node changes: Add-7 ×2 (…), …" for messages.</summary>
    public static string Describe(OpsetUpgradeResult r)
        => $"{r.NodesChanged} node change(s): {string.Join("; ", r.Changes.Select(c => $"{c.OpType}-{c.Version} ×{c.Nodes} ({c.Change})"))}";
}
