namespace PolyNet.Reduce.Steps;

/// <summary>What makes a subgraph "still failing".</summary>
public enum Condition
{
    /// <summary>The candidate's outputs differ from the reference's beyond tolerance (inputs fed with the reference's values).</summary>
    Accuracy,
    /// <summary>The candidate cannot build or run the subgraph.</summary>
    Build,
    /// <summary>An external command says so (exit code, output).</summary>
    External,
}
