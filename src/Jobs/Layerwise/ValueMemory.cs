namespace PolyNet.Jobs.Layerwise;

/// <summary>Memory that large dropped values held, given back between the chunks of a bounded job.</summary>
internal static class ValueMemory
{
    /// <summary>
    /// Gives the memory of dropped values back to the system, so that the next chunk does not add to it: .NET's (a
    /// compacting full collection) and the C heap's, where ONNX Runtime's freed buffers sit.
    /// </summary>
    public static void Reclaim()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Runners.Native.NativeHeap.Trim();
    }
}
