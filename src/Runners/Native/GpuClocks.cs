using System.Runtime.InteropServices;

namespace PolyNet.Runners.Native;

/// <summary>One GPU's clocks at one moment, in MHz, as the NVIDIA driver reports them (NVML), with its temperature in °C.</summary>
public sealed record GpuClock(string Name, uint SmMhz, uint MaxSmMhz, uint MemoryMhz, uint MaxMemoryMhz, uint? TemperatureC)
{
    /// <summary>"NVIDIA H200: SM 1980 of 1980 MHz, memory 3201 of 3201 MHz, 41 °C".</summary>
    public override string ToString()
        => $"{Name}: SM {SmMhz} of {MaxSmMhz} MHz, memory {MemoryMhz} of {MaxMemoryMhz} MHz{(TemperatureC is { } t ? $", {t} °C" : "")}";
}

/// <summary>
/// Reads the GPUs' current and maximum clocks through the driver's NVML library (libnvidia-ml.so.1), which every NVIDIA
/// driver installs: a latency measured at a lowered clock (power or thermal limits, an idle GPU not yet boosted) is
/// not the same measurement. Where there is no driver, <see cref="Read"/> says why instead.
/// </summary>
public static unsafe class GpuClocks
{
    // nvmlClockType_t and nvmlTemperatureSensors_t (nvml.h).
    private const int ClockSm = 1, ClockMem = 2, TemperatureGpu = 0;

    /// <summary>Every GPU's clocks now, or the reason there are none (no NVML library, or NVML's error code).</summary>
    public static (IReadOnlyList<GpuClock> Clocks, string? Unavailable) Read()
    {
        if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out var lib)) return ([], "no NVIDIA driver library (libnvidia-ml.so.1) to read clocks from");
        try
        {
            var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlInit_v2");
            var shutdown = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlShutdown");
            var count = (delegate* unmanaged<uint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetCount_v2");
            var handle = (delegate* unmanaged<uint, IntPtr*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetHandleByIndex_v2");
            var name = (delegate* unmanaged<IntPtr, byte*, uint, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetName");
            var clock = (delegate* unmanaged<IntPtr, int, uint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetClockInfo");
            var max = (delegate* unmanaged<IntPtr, int, uint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetMaxClockInfo");
            var temp = (delegate* unmanaged<IntPtr, int, uint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetTemperature");
            if (init() is var rc and not 0) return ([], $"NVML did not start (nvmlInit_v2 returned {rc})");
            try
            {
                uint n;
                if (count(&n) is var rcCount and not 0) return ([], $"NVML could not count the GPUs (returned {rcCount})");
                var result = new List<GpuClock>();
                var text = stackalloc byte[96];
                for (uint i = 0; i < n; i++)
                {
                    IntPtr d;
                    uint sm = 0, smMax = 0, mem = 0, memMax = 0, t = 0;
                    if (handle(i, &d) != 0) continue;
                    string model = name(d, text, 96) == 0 ? Marshal.PtrToStringUTF8((IntPtr)text) ?? $"GPU {i}" : $"GPU {i}";
                    clock(d, ClockSm, &sm);
                    max(d, ClockSm, &smMax);
                    clock(d, ClockMem, &mem);
                    max(d, ClockMem, &memMax);
                    result.Add(new GpuClock(model, sm, smMax, mem, memMax, temp(d, TemperatureGpu, &t) == 0 ? t : null));
                }
                return (result, result.Count == 0 ? "NVML reports no GPU" : null);
            }
            finally
            {
                shutdown();
            }
        }
        catch (EntryPointNotFoundException e)
        {
            return ([], $"libnvidia-ml.so.1 lacks {e.Message}");
        }
        finally
        {
            NativeLibrary.Free(lib);
        }
    }
}
