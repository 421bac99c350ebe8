"""Data for `./bench/run.sh load`: two outputs of N float32 elements 1e-7 apart, written by their own tools.

  python3 bench/load_data.py make DIR N [POLYGRAPHY_DIR]   a.npz/b.npz (np.savez), a.pb/b.pb (TensorProto with
                                                          raw_data), a.json/b.json (Polygraphy's RunResults.save, when
                                                          its tree is given), s1.npz/s2.npz (16 elements)
  python3 bench/load_data.py run DIR POLYNET ROUNDS [POLYGRAPHY_DIR]
                                                          whole-process `polynet compare` per format against cat of
                                                          the same files, numpy loading the .npz pair and Polygraphy's
                                                          own `run --load-outputs` on the JSON pair
"""
import os, subprocess, sys, time
import numpy as np


def varint(v):
    out = bytearray()
    while True:
        low, v = v & 0x7F, v >> 7
        out.append(low | (0x80 if v else 0))
        if not v:
            return bytes(out)


def tensor_proto(name, x):
    # TensorProto: dims (1, varint), data_type (2) = 1 (FLOAT), name (8), raw_data (9).
    raw = x.tobytes()
    return b"".join([b"\x08" + varint(d) for d in x.shape]) + b"\x10\x01" + b"\x42" + varint(len(name)) + name.encode() \
        + b"\x4a" + varint(len(raw)) + raw


def make(d, n, polygraphy):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    a = rng.random(n, dtype=np.float32)
    b = (a + np.float32(1e-7)).astype(np.float32)
    for tag, x in (("a", a), ("b", b)):
        np.savez(f"{d}/{tag}.npz", out=x)
        with open(f"{d}/{tag}.pb", "wb") as f:
            f.write(tensor_proto("out", x))
    np.savez(f"{d}/s1.npz", out=a[:16])
    np.savez(f"{d}/s2.npz", out=b[:16])
    if polygraphy:
        sys.path[:0] = [f"{polygraphy}/tools/Polygraphy"]
        from polygraphy.comparator import RunResults
        from polygraphy.comparator.struct import IterationResult
        for tag, x in (("a", a), ("b", b)):
            rr = RunResults()
            rr.append((f"run_{tag}", [IterationResult({"out": x}, runner_name=f"run_{tag}")]))
            rr.save(f"{d}/{tag}.json")


def wall(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return time.perf_counter() - t


def run(d, polynet, rounds, polygraphy):
    """Whole processes, interleaved round by round (this machine is shared: drift hits every series alike); best of rounds."""
    pn = polynet.split()
    series = {
        "polynet_16_elements": pn + ["compare", f"{d}/s1.npz", f"{d}/s2.npz", "--atol", "1e-6", "-q"],
        "polynet_npz": pn + ["compare", f"{d}/a.npz", f"{d}/b.npz", "--atol", "1e-6", "-q"],
        "polynet_pb": pn + ["compare", f"{d}/a.pb", f"{d}/b.pb", "--atol", "1e-6", "-q"],
        "cat_npz": ["cat", f"{d}/a.npz", f"{d}/b.npz"],
        "cat_pb": ["cat", f"{d}/a.pb", f"{d}/b.pb"],
    }
    if polygraphy:
        series["polynet_json"] = pn + ["compare", f"{d}/a.json", f"{d}/b.json", "--atol", "1e-6", "-q"]
        series["cat_json"] = ["cat", f"{d}/a.json", f"{d}/b.json"]
    best = {k: 1e9 for k in series}
    for _ in range(rounds):
        for k, cmd in series.items():
            best[k] = min(best[k], wall(cmd))
    for _ in range(3):
        t = time.perf_counter()
        x, y = np.load(f"{d}/a.npz")["out"], np.load(f"{d}/b.npz")["out"]
        best["numpy_load_npz"] = min(best.get("numpy_load_npz", 1e9), time.perf_counter() - t)
        del x, y
    if polygraphy:
        env = dict(os.environ, PYTHONPATH=f"{polygraphy}/tools/Polygraphy:{polygraphy}/tools/onnx-graphsurgeon")
        cmd = [sys.executable, f"{polygraphy}/tools/Polygraphy/bin/polygraphy", "run", "--load-outputs", f"{d}/a.json", f"{d}/b.json", "--atol", "1e-6"]
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            best["polygraphy_json"] = min(best.get("polygraphy_json", 1e9), time.perf_counter() - t)
    for k, v in best.items():
        print(f"{k:22s} {v:8.3f} s")
    small, npz, cat = best["polynet_16_elements"], best["polynet_npz"], best["cat_npz"]
    target = 1.5 * (small + cat) + 0.1
    print(f".npz: PolyNet {npz:.3f} s; target 1.5 x (16-element run {small:.3f} + cat {cat:.3f}) + 0.1 = {target:.3f} s: "
          + ("met" if npz <= target else "NOT met"))
    print(f".pb:  PolyNet {best['polynet_pb']:.3f} s (cat {best['cat_pb']:.3f} s)")
    if polygraphy:
        ratio = best["polygraphy_json"] / best["polynet_json"]
        print(f"Polygraphy JSON: PolyNet {best['polynet_json']:.3f} s, polygraphy run --load-outputs {best['polygraphy_json']:.2f} s: "
              f"{ratio:.0f}x (target: >= 40x): " + ("met" if ratio >= 40 else "NOT met"))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
