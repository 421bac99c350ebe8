"""Summarizes repeated `polynet bench` invocations (bench/run.sh latency, bench/gpu/run.sh repeat).

   python3 bench/repeat_summary.py DIR

DIR holds NAME.json (bench --json) and NAME.txt (its output) for invocations named MODEL.repeat.MODE.I (I = 0 is the
baseline the others were compared with) and MODEL.planted.{base,same,SLOWER} (a planted slowdown). Prints a Markdown
table: per model and mode the invocations' medians, their spread ((max - min) / min, target: within 3%), the largest
spread of round medians inside one invocation, and each comparison's verdict; then the planted slowdown's verdicts.
"""
import glob
import json
import os
import re
import sys

d = sys.argv[1]


def load(name):
    doc = json.load(open(os.path.join(d, name + ".json")))
    r = doc["runners"][0]
    verdict = (doc.get("baseline") or [{}])[0]
    return r["latency_ms"]["median"], r.get("spread", 0), verdict


groups = {}
for path in sorted(glob.glob(os.path.join(d, "*.repeat.*.json"))):
    name = os.path.basename(path)[:-5]
    m = re.match(r"(.+)\.repeat\.(\w+)\.(\d+)$", name)
    if m:
        groups.setdefault((m.group(1), m.group(2)), []).append((int(m.group(3)), name))
print("| model | mode | medians of 6 invocations (ms) | spread of medians | worst in-run spread | verdicts against invocation 0 |")
print("|---|---|---|---:|---:|---|")
for (model, mode), runs in sorted(groups.items()):
    runs.sort()
    data = [load(n) for _, n in runs]
    medians = [x[0] for x in data]
    spread = max(medians) / min(medians) - 1
    verdicts = [x[2].get("verdict", "") for x in data[1:]]
    print(f"| {model} | {mode} | {' '.join(f'{v:.3f}' for v in medians)} | {100 * spread:.1f}% | {100 * max(x[1] for x in data):.1f}% | {', '.join(verdicts)} |")
planted = sorted(glob.glob(os.path.join(d, "*.planted.*.json")))
if planted:
    print()
    print("| planted slowdown | median (ms) | baseline median (ms) | change of median | shift (95% CI) | p | verdict | exit |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    log = {}
    for logf in glob.glob(os.path.join(d, "*.log")):
        for line in open(logf):
            p = line.split()
            if len(p) >= 3 and p[1] == "exit":
                log[p[0]] = p[2]
    for path in planted:
        name = os.path.basename(path)[:-5]
        med, _, v = load(name)
        if not v:
            print(f"| {name} | {med:.3f} | | | | | (the baseline) | {log.get(name, '')} |")
        else:
            shift = f"{100 * v['shift']:+.1f}% ({100 * v['shift_low']:+.1f}% to {100 * v['shift_high']:+.1f}%)" if "shift" in v else ""
            pv = f"{v['p']:.2g}" if v['p'] > 0 else '< 1e-300'
            print(f"| {name} | {med:.3f} | {v['baseline_median_ms']:.3f} | {100 * v['change']:+.1f}% | {shift} | {pv} | {v['verdict']} | {log.get(name, '')} |")
