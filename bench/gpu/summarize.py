"""Tables for docs/gpu.md from bench/gpu/run.sh's results folder.   python3 bench/gpu/summarize.py RESULTS_DIR"""
import glob
import json
import os
import re
import statistics as st
import sys

out = sys.argv[1]
models = ["resnet50", "mobilenet_v3_large", "vit_b_16", "bert_base"]


def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None


def num(v):
    if isinstance(v, str):
        return v
    return f"{v:.3g}" if v is not None else "–"


print("## Verdicts (every output; worst output shown)\n")
print("| model | comparison | tolerance | verdict | worst output | max abs error | relative L2 | passes at atol ≥ (rtol as set) |")
print("| --- | --- | --- | --- | --- | ---: | ---: | ---: |")
for m in models:
    for tag, tol in (("tf32.default", "default (1e-5; fp16 1e-3)"), ("tf32.fit", "1e-3 / 1e-3"), ("fp16", "fp16 default (1e-3)")):
        d = load(f"{m}.{tag}")
        if not d:
            continue
        for c in d["comparisons"]:
            outs = [o for o in c["outputs"] if o.get("metrics")]
            worst = max(outs, key=lambda o: (not o["passed"], o["metrics"]["relative_l2"] if isinstance(o["metrics"]["relative_l2"], float) else 1e9)) if outs else None
            mt = worst["metrics"] if worst else {}
            print(f"| {m} | {c['candidate']} vs {c['reference']} | {tol} | {'PASSED' if c['passed'] else 'FAILED'} | {worst['output'] if worst else ''} "
                  f"| {num(mt.get('abs_error', {}).get('max'))} | {num(mt.get('relative_l2'))} | {num(mt.get('needed_atol'))} |")

print("\n## Where the failing configurations diverge\n")
for path in sorted(glob.glob(os.path.join(out, "*.layers.json"))):
    d = json.load(open(path))
    lw = d.get("layerwise")
    if not lw:
        continue
    name = os.path.basename(path)[: -len(".json")]
    for c in lw["candidates"]:
        failing = [t for t in c["tensors"] if not t["comparison"]["passed"]]
        print(f"- **{name}** ({c['candidate']} vs {lw['reference']}): {len(failing)} of {len(c['tensors'])} tensors beyond tolerance; "
              f"first divergence: `{c['first_divergence']}`" + (f" ({lw['chunks']} chunk(s), {lw['runs']} runs)" if True else ""))
        loc = c.get("localization")
        if loc:
            intro = [n for n in loc["nodes"] if n.get("introduces")]
            ops = {}
            for n in intro:
                ops[n["op_type"]] = ops.get(n["op_type"], 0) + 1
            print(f"  localization ({loc['runs']} runs): {len(intro)} of {len(loc['nodes'])} diverging nodes introduce error: "
                  + ", ".join(f"{k} ×{v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1]))
                  + ("; first: " + ", ".join(f"`{n['node_name']}` ({n['op_type']})" for n in intro[:3]) if intro else ""))
            for e in loc.get("explained", []):
                print(f"  fixing them removes {100 * e['explained']:.0f}% of `{e['output']}`'s error (rel L2 {num(e['rel_l2_before'])} → {num(e['rel_l2_after'])})"
                      if isinstance(e.get("explained"), (int, float)) else f"  `{e['output']}`: n/a")

print("\n## Latency (ms, median of the rounds' medians) and PolyNet's overhead against the C program\n")
print("| model | mode | C median | PolyNet median | PolyNet − C (median) | C min | PolyNet min | PolyNet − C (min) | C round-to-round spread | PolyNet p99 | throughput (PolyNet) |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for m in models:
    for mode in ("bound", "copies"):
        cpath = os.path.join(out, f"{m}.c_{mode}.txt")
        if not os.path.exists(cpath):
            continue
        c = [float(re.search(r"median_ms ([\d.]+)", l).group(1)) for l in open(cpath) if "median_ms" in l]
        cmin = min(float(re.search(r"min_ms ([\d.]+)", l).group(1)) for l in open(cpath) if "min_ms" in l)
        p = [load(f"{m}.bench.{mode}.{r}") for r in range(1, 10)]
        p = [x["runners"][0] for x in p if x]
        if not c or not p:
            continue
        cm, pm = st.median(c), st.median([x["latency_ms"]["median"] for x in p])
        spread = 100 * (max(c) - min(c)) / cm
        label = "device-resident (I/O binding)" if mode == "bound" else "with copies"
        pmin = min(x["latency_ms"]["min"] for x in p)
        own = [x["own_work_ms"]["median"] for x in p if "own_work_ms" in x]
        if own:
            label += f" (PolyNet's own work {1000 * st.median(own):.0f} us)"
        print(f"| {m} | {label} | {cm:.3f} | {pm:.3f} | {100 * (pm / cm - 1):+.2f}% | {cmin:.3f} | {pmin:.3f} | {100 * (pmin / cmin - 1):+.2f}% | {spread:.1f}% | {st.median([x['latency_ms']['p99'] for x in p]):.3f} | {st.median([x['throughput_per_s'] for x in p]):.0f}/s |")
    cpu = load(f"{m}.bench.cpu")
    if cpu:
        r = cpu["runners"][0]
        print(f"| {m} | CPU (onnxrt, for scale) | | {r['latency_ms']['median']:.3f} | | | {r['latency_ms']['min']:.3f} | | | {r['latency_ms']['p99']:.3f} | {r['throughput_per_s']:.0f}/s |")
