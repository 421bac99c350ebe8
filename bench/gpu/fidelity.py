"""FP16 and INT8 emulation fidelity from bench/gpu/run.sh's results folder (stdlib only).

   python3 bench/gpu/fidelity.py RESULTS_DIR

Reads, per model, what the stages left there:
  M.fidelity.json         (stage fidelity) onnxrt (float32, CPU) against fp16-emulation, fp16-naive and cuda-fp16
  M.fidelity.emu.json     (stage fidelity, where the first run crashed) the emulation alone at a lower opt= level
  M.int8.json             (stage int8) onnxrt against int8-emulation-cpu and int8-emulation-cuda
  M.fidelity.ops.json     (stage fidelity-ops) emulation runners with op types kept in float32, and cuda-fp16
  M.fidelity.layers.json  (stage fidelity-layers) --mark-all of the fidelity runners, with M.edges.json (the graph)
and prints Markdown: the relative L2 error (||cand - ref|| / ||ref||) of each candidate against float32, per output,
averaged over the samples, and the ratio emulation / GPU. The target is a ratio within [0.5, 2].
"""
import json
import math
import os
import statistics as st
import sys

out = sys.argv[1]
models = ["resnet50", "mobilenet_v3_large", "vit_b_16", "bert_base"]
LOW, HIGH = 0.5, 2.0


def load(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    try:
        return json.load(open(path))
    except ValueError as e:
        print(f"<!-- {path}: unreadable ({e}) -->")
        return None


def val(x):
    """A JSON number, or PolyNet's "nan"/"inf"/"-inf" strings, as a float (None when absent)."""
    if x is None:
        return None
    if isinstance(x, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(x)
    return float(x)


def num(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def rel_l2(d):
    """{(candidate, output): [rel L2 of sample 0, sample 1, ...]} from a run report."""
    r = {}
    for c in d.get("comparisons") or []:
        for o in c["outputs"]:
            m = o.get("metrics")
            if m is not None:  # the first of each sample (merged files repeat the GPU's)
                r.setdefault((c["candidate"], o["output"]), {}).setdefault(c["sample"], val(m.get("relative_l2")))
    return {k: [v[s] for s in sorted(v)] for k, v in r.items()}


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def ratio(a, b):
    if a is None or b is None:
        return None
    if b == 0:
        return math.inf if a else 1.0
    return a / b


def verdict(q):
    if q is None or not math.isfinite(q):
        return "n/a"
    return "yes" if LOW <= q <= HIGH else "**no**"


def outputs_of(d):
    seen = []
    for c in d.get("comparisons") or []:
        for o in c["outputs"]:
            if o["output"] not in seen:
                seen.append(o["output"])
    return seen


def samples(xs):
    return " / ".join(num(x) for x in xs)


# --- FP16 ------------------------------------------------------------------------------------------------------------
def pick(r, want):
    """The candidate named WANT, or WANT.opt=LEVEL (the stage's rerun where the default session crashed)."""
    names = sorted({c for c, _ in r if c == want or c.startswith(want + ".opt=")}, key=len)
    return names[0] if names else want


rows = []
notes = []
for m in models:
    d = load(f"{m}.fidelity")
    if not d:
        continue
    extra = load(f"{m}.fidelity.emu")  # the emulation rerun alone at a lower optimization level (see run.sh)
    if extra:
        d = dict(d, comparisons=(d.get("comparisons") or []) + (extra.get("comparisons") or []))
    r = rel_l2(d)
    names = [pick(r, c) for c in ("fp16-emulation", "fp16-naive", "cuda-fp16")]
    for n, c in zip(names, ("fp16-emulation", "fp16-naive", "cuda-fp16")):
        if n != c:
            notes.append(f"{m}: {c} is `{n}` (a separate invocation on the same inputs)")
    for o in outputs_of(d):
        emu, naive, gpu = (r.get((c, o), []) for c in names)
        per = [ratio(a, b) for a, b in zip(emu, gpu)]
        rows.append((m, o, emu, naive, gpu, ratio(mean(emu), mean(gpu)), ratio(mean(naive), mean(gpu)), per,
                     [ratio(a, b) for a, b in zip(naive, gpu)]))
if rows:
    print("## FP16: relative L2 error against float32 (CPU), mean over samples (per sample in brackets)\n")
    print("| model | output | fp16 emulation | fp16-naive emulation | CUDA float16 | emulation / CUDA | within [0.5, 2] | naive / CUDA | within [0.5, 2] |")
    print("| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | :---: |")
    for m, o, emu, naive, gpu, q, qn, per, pern in rows:
        print(f"| {m} | {o} | {num(mean(emu))} ({samples(emu)}) | {num(mean(naive))} ({samples(naive)}) | {num(mean(gpu))} ({samples(gpu)}) "
              f"| {num(q)} ({samples(per)}) | {verdict(q)} | {num(qn)} ({samples(pern)}) | {verdict(qn)} |")
    for n in notes:
        print(f"\n- {n}")
    print()

# --- INT8 ------------------------------------------------------------------------------------------------------------
rows = []
for m in models:
    d = load(f"{m}.int8")
    if not d:
        continue
    r = rel_l2(d)
    for o in outputs_of(d):
        cpu, gpu = r.get(("int8-emulation-cpu", o), []), r.get(("int8-emulation-cuda", o), [])
        rows.append((m, o, cpu, gpu, ratio(mean(cpu), mean(gpu)), [ratio(a, b) for a, b in zip(cpu, gpu)]))
if rows:
    print("## INT8: relative L2 error against float32 (CPU), mean over samples (per sample in brackets)\n")
    print("| model | output | INT8 emulation, CPU provider | INT8 emulation, CUDA provider | CPU / CUDA | within [0.5, 2] |")
    print("| --- | --- | ---: | ---: | ---: | :---: |")
    for m, o, cpu, gpu, q, per in rows:
        print(f"| {m} | {o} | {num(mean(cpu), 4)} ({samples(cpu)}) | {num(mean(gpu), 4)} ({samples(gpu)}) | {num(q, 4)} ({samples(per)}) | {verdict(q)} |")
    print()

# --- op types kept in float32 ------------------------------------------------------------------------------------------
for m in models:
    d = load(f"{m}.fidelity.ops")
    if not d:
        continue
    r = rel_l2(d)
    if not any(c == "cuda-fp16" for c, _ in r):  # the GPU's numbers from the fidelity stage
        r.update({k: v for k, v in rel_l2(load(f"{m}.fidelity") or {}).items() if k[0] == "cuda-fp16"})
    print(f"## {m}: FP16 emulation with op types kept in float32 (fp32_ops=), against CUDA float16\n")
    print("| output | candidate | rel L2 vs float32 | / CUDA float16 |")
    print("| --- | --- | ---: | ---: |")
    for o in outputs_of(d):
        gpu = mean(r.get(("cuda-fp16", o), []))
        for (c, oo), xs in r.items():
            if oo == o:
                print(f"| {o} | {c} | {num(mean(xs))} | {num(ratio(mean(xs), gpu))} |")
    print()

# --- per-tensor curves --------------------------------------------------------------------------------------------------
for m in models:
    d = load(f"{m}.fidelity.layers")
    lw = d and d.get("layerwise")
    if not lw:
        if d is not None:
            print(f"## {m}: layerwise\n\nno layerwise result ({d.get('layerwise_problem')})\n")
        continue
    cands = {}
    meta = {}
    for c in lw["candidates"]:
        t = {}
        for x in c["tensors"]:
            mt = x["comparison"].get("metrics")
            if mt is not None:
                t[x["tensor"]] = val(mt.get("relative_l2"))
                meta[x["tensor"]] = (x["position"], x["node_name"], x["op_type"])
        cands[c["candidate"]] = (t, c.get("first_divergence"))
    print(f"## {m}: per-tensor relative L2 against float32 (--mark-all, sample {lw['sample']}, {lw['chunks']} chunk(s), {lw['runs']} runs)\n")
    for n in lw.get("notes") or []:
        print(f"- note: {n}")
    for c, (t, first) in cands.items():
        print(f"- {c}: {len(t)} tensors compared, first beyond tolerance `{first}`")
    gpu = cands.get("cuda-fp16", ({}, None))[0]
    sides = [(c, t) for c, (t, _) in cands.items() if c != "cuda-fp16" and c.startswith("fp16-")]
    if not gpu or not sides:
        print()
        continue
    base = sides[0][1]
    common = sorted((k for k in base if k in gpu and base[k] is not None and gpu[k] is not None and meta[k][2] != "Identity"), key=lambda k: meta[k][0])
    if not common:
        print()
        continue
    print(f"\nThe curve at tenths of the {len(common)} tensors compared on every side (topological order):\n")
    print("| position | tensor | op | " + " | ".join(c for c, _ in sides) + " | CUDA | " + " | ".join(f"{c} / CUDA" for c, _ in sides) + " |")
    print("| ---: | --- | --- | " + "---: | " * (2 * len(sides) + 1))
    picks = sorted({min(len(common) - 1, round(i * (len(common) - 1) / 10)) for i in range(11)})
    for i in picks:
        k = common[i]
        print(f"| {meta[k][0]} | `{k[-60:]}` | {meta[k][2]} | " + " | ".join(num(t.get(k)) for _, t in sides) + f" | {num(gpu[k])} | "
              + " | ".join(num(ratio(t.get(k), gpu[k])) for _, t in sides) + " |")
    # Per node: the error it adds (its output's rel L2 minus its inputs' worst), CPU side against CUDA. A node that adds
    # more error on one side than on the other is where the two differ; tensors one side lacks (a Conv output folded
    # with its BatchNormalization, a fused node's inside) are walked through to what they read.
    edges = load(f"{m}.edges")
    if not edges:
        print()
        continue
    producer = {o: n for n in edges["nodes"] for o in n["out"]}
    inputs = set(edges["inputs"])

    def err_in(side, x, depth=0):
        if x in inputs or x not in producer or depth > 50:
            return 0.0
        if side.get(x) is not None:
            return side[x]
        return max([err_in(side, y, depth + 1) for y in producer[x]["in"]] + [0.0])

    def added(side, n):
        """What a node adds to its inputs' worst error (0 where it shrinks it: an average, a Softmax, an integer)."""
        o = n["out"][0]
        return max(0.0, side[o] - max([err_in(side, y) for y in n["in"]] + [0.0]))

    for c, emu in sides:
        nodes = [(n, added(emu, n), added(gpu, n)) for n in edges["nodes"]
                 if n["out"][0] in gpu and emu.get(n["out"][0]) is not None and gpu[n["out"][0]] is not None
                 and (emu[n["out"][0]] or gpu[n["out"][0]])]
        by_op = {}
        for n, a, b in nodes:
            by_op.setdefault(n["op"], []).append((a, b))
        print(f"\n{c} against CUDA, per op type: error its nodes add (output rel L2 minus the worst input's, where positive), summed:\n")
        print(f"| op | nodes | added, {c} | added, CUDA |")
        print("| --- | ---: | ---: | ---: |")
        for op, xs in sorted(by_op.items(), key=lambda kv: -abs(sum(x[0] - x[1] for x in kv[1])))[:8]:
            print(f"| {op} | {len(xs)} | {num(sum(x[0] for x in xs))} | {num(sum(x[1] for x in xs))} |")
        print(f"\nNodes where {c} and CUDA differ most in the error they add:\n")
        print(f"| node | op | output rel L2, {c} | CUDA | added, {c} | added, CUDA |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for n, a, b in sorted(nodes, key=lambda x: -abs(x[1] - x[2]))[:8]:
            o = n["out"][0]
            print(f"| `{n['name'][-60:]}` | {n['op']} | {num(emu[o])} | {num(gpu[o])} | {num(a)} | {num(b)} |")
    print()
