namespace PolyNet.Runners;

/// <summary>The machine a measurement ran on, in one line: CPU model and cores, and the GPU where the NVIDIA driver names one.</summary>
public static class MachineDescription
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        var gpus = new List<string>();
        try
        {
            if (Directory.Exists("/proc/driver/nvidia/gpus"))
                foreach (var dir in Directory.EnumerateDirectories("/proc/driver/nvidia/gpus").Order(StringComparer.Ordinal))
                    if (File.ReadLines(Path.Combine(dir, "information")).FirstOrDefault(l => l.StartsWith("Model:", StringComparison.Ordinal)) is { } m)
                        gpus.Add(m["Model:".Length..].Trim());
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores{(gpus.Count > 0 ? $"; {string.Join(", ", gpus)}" : "")}";
    }
}
