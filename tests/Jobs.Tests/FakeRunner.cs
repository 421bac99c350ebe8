using PolyNet.Onnx;
using PolyNet.Runners;
using PolyNet.Runners.Specs;

namespace PolyNet.Jobs.Tests;

/// <summary>A runner that computes its outputs with a function: jobs tested without ONNX Runtime where it is not the point.</summary>
public sealed class FakeRunner(RunnerSpec spec, OnnxModel model, Func<ValueMap, ValueMap> compute, ComputePrecision precision = ComputePrecision.Fp32) : IRunner
{
    public string Name => spec.Name;
    public int Activations { get; private set; }
    public int Runs { get; private set; }
    public bool Disposed { get; private set; }

    public void Activate() => Activations++;
    public IReadOnlyList<ValueSpec> Inputs => model.Inputs;
    public IReadOnlyList<ValueSpec> Outputs => model.Outputs;

    public ValueMap Infer(ValueMap feeds)
    {
        Runs++;
        return compute(feeds);
    }

    public TimeSpan LastInferenceTime => TimeSpan.FromMilliseconds(1);
    public TimeSpan ActivationTime => TimeSpan.FromMilliseconds(2);
    public IReadOnlyList<string> Notes => ["fake"];
    public ComputePrecision Precision => precision;
    public void Dispose() => Disposed = true;

    /// <summary>A factory giving each spec's runner from <paramref name="byName"/> (outputs from the feeds), remembering what it made.</summary>
    public static RunnerFactory Factory(Dictionary<string, Func<ValueMap, ValueMap>> byName, List<FakeRunner>? made = null)
        => (s, c) =>
        {
            var r = new FakeRunner(s, c.Model, byName[s.Name]);
            made?.Add(r);
            return r;
        };
}
