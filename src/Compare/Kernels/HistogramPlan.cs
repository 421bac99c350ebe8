using System.Globalization;

namespace PolyNet.Compare.Kernels;

/// <summary>
/// Histogram bins chosen after pass 1 and counted in pass 2 as "how many values ≤ edge": linear bins between the
/// finite minimum and maximum for output values, decades (log scale) for errors, with exact zeros and infinite
/// errors in bins of their own.
/// </summary>
internal sealed class HistogramPlan
{
    public const int LinearBins = 20;
    public const int MaxDecades = 16;

    private readonly bool _log;
    private readonly double _min, _max;
    private readonly double[] _edges;

    private HistogramPlan(bool log, double min, double max, double[] edges, float[] le, float[] lt)
    {
        _log = log;
        _min = min;
        _max = max;
        _edges = edges;
        LeEdges = le;
        LtEdges = lt;
    }

    public float[] LeEdges { get; }
    public float[] LtEdges { get; }
    public int LeOffset { get; set; }
    public int LtOffset { get; set; }

    public static HistogramPlan? Linear(double min, double max, long count)
    {
        if (count == 0 || !double.IsFinite(min) || !double.IsFinite(max)) return null;
        if (min == max) return new HistogramPlan(false, min, max, [], [], []);
        var inner = Enumerable.Range(1, LinearBins - 1).Select(i => min + (max - min) * i / LinearBins).ToArray();
        return new HistogramPlan(false, min, max, inner, inner.Select(e => (float)e).ToArray(), []);
    }

    public static HistogramPlan Decades(double minPositive, double maxFinite)
    {
        if (!(maxFinite > 0) || !double.IsFinite(minPositive))
            return new HistogramPlan(true, 0, 0, [], [0f], [float.PositiveInfinity]);
        int hi = (int)Math.Ceiling(Math.Log10(maxFinite));
        int lo = Math.Max((int)Math.Floor(Math.Log10(minPositive)), hi - MaxDecades);
        if (lo == hi) lo--;
        var edges = Enumerable.Range(lo, hi - lo + 1).Select(d => Math.Pow(10, d)).ToArray();
        return new HistogramPlan(true, 0, maxFinite, edges, [0f, .. edges.Select(e => (float)e)], [float.PositiveInfinity]);
    }

    public Histogram Read(long[] lt, long[] le, long n)
    {
        var bins = new List<HistogramBin>();
        if (_log)
        {
            long zeros = le[LeOffset];
            long finite = lt[LtOffset];
            bins.Add(new HistogramBin(0, 0, zeros, "0"));
            long prev = zeros;
            for (int i = 0; i < _edges.Length; i++)
            {
                bool last = i == _edges.Length - 1;
                long cum = last ? finite : le[LeOffset + 1 + i];
                double low = i == 0 ? 0 : _edges[i - 1];
                string label = i == 0 ? $"(0, {E(_edges[0])}]" : last ? $"> {E(low)}" : $"({E(low)}, {E(_edges[i])}]";
                bins.Add(new HistogramBin(low, _edges[i], cum - prev, label));
                prev = cum;
            }
            if (n - finite > 0) bins.Add(new HistogramBin(double.PositiveInfinity, double.PositiveInfinity, n - finite, "inf"));
            return new Histogram(bins, true);
        }
        if (_edges.Length == 0)
        {
            bins.Add(new HistogramBin(_min, _max, n, $"[{G(_min)}, {G(_max)}]"));
            return new Histogram(bins, false);
        }
        long before = 0;
        for (int i = 0; i <= _edges.Length; i++)
        {
            double low = i == 0 ? _min : _edges[i - 1];
            double high = i == _edges.Length ? _max : _edges[i];
            long cum = i == _edges.Length ? n : le[LeOffset + i];
            bins.Add(new HistogramBin(low, high, cum - before, i == 0 ? $"[{G(low)}, {G(high)}]" : $"({G(low)}, {G(high)}]"));
            before = cum;
        }
        return new Histogram(bins, false);
    }

    private static string E(double v) => v.ToString("0e0", CultureInfo.InvariantCulture);
    private static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
