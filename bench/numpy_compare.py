"""The numpy baseline for the comparator benchmark: Polygraphy's comparison arithmetic on N float32 elements.

Elementwise verdict (Polygraphy fails an element when absdiff > atol and reldiff > rtol), then for the two outputs and
the absolute and relative errors: mean, std, median, p90/p95/p99, min, max and a 10-bin histogram. Same data
distribution as PolyNet's benchmark (a uniform in (0, 1], b = a plus up to 1e-6). Prints the best of REPEATS.
Usage: python3 bench/numpy_compare.py N REPEATS
"""
import sys
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rng = np.random.default_rng(1)
a = np.float32(1) - rng.random(n, dtype=np.float32)  # in (0, 1]: no zero, so relative errors stay finite
b = a + (rng.integers(0, 1024, n).astype(np.float32) * np.float32(1e-9))


def summarize(x):
    return (x.mean(), x.std(), np.median(x), np.percentile(x, [90, 95, 99]), x.min(), x.max(), np.histogram(x, bins=10))


best = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter()
    absdiff = np.abs(a - b)
    reldiff = absdiff / np.abs(a)
    failed = np.logical_and(absdiff > 1e-5, reldiff > 1e-5)
    _ = failed.sum()
    for arr in (a, b, absdiff, reldiff):
        summarize(arr)
    best = min(best, time.perf_counter() - t0)
print(f"numpy polygraphy_arithmetic_s {best:.4f} (n {n}, numpy {np.__version__}, best of {repeats})")
