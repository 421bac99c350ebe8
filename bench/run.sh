#!/usr/bin/env bash
# PolyNet's benchmarks (see BENCHMARKS.md). Needs ./setup.sh first; python3-numpy for the numpy baseline (./setup.sh --test).
#   ./bench/run.sh            all benchmarks
#   ./bench/run.sh overhead   PolyNet around ORT's Run vs a C program calling ORT directly (ResNet-50, CPU)
#   ./bench/run.sh load       whole-process polynet compare on 50M float32 in .npz, Polygraphy JSON and .pb vs cat, numpy and Polygraphy
#   ./bench/run.sh model-load loading a 1 GiB model with external data vs reading its bytes
#   ./bench/run.sh compare    the full comparison report on 50 million float32 elements vs one pass and numpy
#   ./bench/run.sh reduce     model runs and checks of polynet reduce on generated graphs of 100, 1,000 and 10,000 nodes
#   ./bench/run.sh latency    repeatability of polynet bench (the same bench 5 times against the first as --baseline) on a
#                             MatMul-heavy model, and a planted slowdown (1 thread against a 2-thread baseline) detected
#   ./bench/run.sh memory     peak memory of --mark-all on IS-Net (the largest corpus model) at --max-memory 1G and 4G (minutes; not in "all")
# Results go to stdout and to bench/results/*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
lib=.deps/onnxruntime/libonnxruntime.so.1
[ -s "$lib" ] || { echo "bench: run ./setup.sh first (ONNX Runtime is missing)" >&2; exit 2; }
out=bench/results
mkdir -p "$out"
echo "bench: building (Release) ..." >&2
gcc -O2 -o bench/c/ort_bench bench/c/ort_bench.c -ldl
dotnet build bench/PolyNet.Bench -c Release -o .build/bench -nologo -v q -clp:ErrorsOnly >/dev/null
B="dotnet .build/bench/PolyNet.Bench.dll"
if [ ! -s "$out/resnet50.onnx" ] || [ ! -s "$out/big_external.onnx.data" ]; then
  echo "bench: generating models (ResNet-50 with random weights, a 1 GiB external-data model) ..." >&2
  $B make-models "$out" >/dev/null
fi

if [ "$what" = all ] || [ "$what" = overhead ]; then
  echo "== overhead: time per inference, ResNet-50 1x3x224x224, ONNX Runtime $(cat .deps/onnxruntime/VERSION) CPU, default threads"
  # Interleaved rounds (C, PolyNet, C again) so drift on a shared machine hits both alike; the two C series
  # measure the noise itself: a difference between PolyNet and C within the C-to-C difference is noise.
  rounds=10 runs=40
  : > "$out/overhead_c.txt"; : > "$out/overhead_c2.txt"; : > "$out/overhead_polynet.txt"
  for r in $(seq $rounds); do
    bench/c/ort_bench "$lib" "$out/resnet50.onnx" input logits 1x3x224x224 10 $runs | grep '^run_ms' >> "$out/overhead_c.txt"
    $B overhead "$out/resnet50.onnx" input logits 1x3x224x224 10 $runs | grep '^run_ms' >> "$out/overhead_polynet.txt"
    bench/c/ort_bench "$lib" "$out/resnet50.onnx" input logits 1x3x224x224 10 $runs | grep '^run_ms' >> "$out/overhead_c2.txt"
  done
  python3 - "$out/overhead_c.txt" "$out/overhead_c2.txt" "$out/overhead_polynet.txt" <<'PY' | tee "$out/overhead.txt"
import sys, statistics as st
def load(p): return sorted(float(l.split()[1]) for l in open(p))
c1, c2, p = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
c = sorted(c1 + c2)
for name, v in (("C program, series 1", c1), ("C program, series 2", c2), ("PolyNet onnxrt runner", p)):
    print(f"{name:24s} runs {len(v):4d}  min {v[0]:8.3f} ms  median {st.median(v):8.3f} ms  mean {st.mean(v):8.3f} ms")
print(f"PolyNet vs C (both series): median {100*(st.median(p)/st.median(c)-1):+.2f}%  min {100*(p[0]/c[0]-1):+.2f}%  (target: within 3%)")
print(f"noise, C series 2 vs 1:     median {100*(st.median(c2)/st.median(c1)-1):+.2f}%  min {100*(c2[0]/c1[0]-1):+.2f}%")
added = sorted(float(l.split()[5]) for l in open(sys.argv[3]))
print(f"PolyNet's own work per inference, measured inside the process (feed handed over, outputs copied out, around ORT's Run):")
print(f"                            median {st.median(added)*1000:.1f} us  max {added[-1]*1000:.1f} us  = {100*st.median(added)/st.median(p):.3f}% of the median inference")
PY
fi

if [ "$what" = all ] || [ "$what" = latency ]; then
  echo "== latency: polynet bench repeated 5 times against its first run, and a planted slowdown (MatMul-heavy model, CPU)"
  d="$out/latency"; mkdir -p "$d"; rm -f "$d"/*.json "$d"/*.txt "$d"/*.log
  [ -s "$out/matmul_heavy.onnx" ] || $B make-matmul "$out/matmul_heavy.onnx" >/dev/null
  m="$out/matmul_heavy.onnx"
  bench() { # NAME ARGS...: one polynet bench, its JSON and output kept, its exit code logged
    local name=$1; shift
    ./polynet bench "$m" "$@" --json "$d/$name.json" > "$d/$name.txt" 2>&1; local code=$?
    echo "$name exit $code" | tee -a "$d/latency.log"
  }
  set +e
  bench matmul.repeat.bound.0 --runner onnxrt:intra=2,name=mm --iterations 30
  for i in 1 2 3 4 5; do bench matmul.repeat.bound.$i --runner onnxrt:intra=2,name=mm --iterations 30 --baseline "$d/matmul.repeat.bound.0.json"; done
  bench matmul.planted.base --runner onnxrt:intra=2,name=mm --iterations 30
  bench matmul.planted.same --runner onnxrt:intra=2,name=mm --iterations 30 --baseline "$d/matmul.planted.base.json"
  bench matmul.planted.one_thread --runner onnxrt:intra=1,name=mm --iterations 30 --baseline "$d/matmul.planted.base.json"
  set -e
  python3 bench/repeat_summary.py "$d" | tee "$out/latency.txt"
fi

if [ "$what" = all ] || [ "$what" = load ]; then
  n=50000000 d="$out/load"
  echo "== load: whole-process polynet compare, two outputs of $n float32 1e-7 apart (best of ${ROUNDS:-5} interleaved rounds, warm page cache)"
  /usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "bench: python3-numpy is missing (./setup.sh --test installs it)" >&2; exit 2; }
  peer=""
  if [ -s ../shared/peer/polygraphy-0.49.27.tar.xz ]; then
    peer="$out/polygraphy"
    [ -d "$peer/tools" ] || { mkdir -p "$peer"; xz -d < ../shared/peer/polygraphy-0.49.27.tar.xz | tar x -C "$peer"; }
  else
    echo "bench: ../shared/peer/polygraphy-0.49.27.tar.xz is missing: no Polygraphy JSON series" >&2
  fi
  if [ ! -s "$d/b.pb" ] || { [ -n "$peer" ] && [ ! -s "$d/b.json" ]; }; then
    mkdir -p "$d"
    echo "bench: writing the data (np.savez, TensorProto, Polygraphy's RunResults.save) ..." >&2
    /usr/bin/python3 bench/load_data.py make "$d" $n $peer 2>/dev/null
  fi
  ./polynet --build-only
  /usr/bin/python3 bench/load_data.py run "$d" "dotnet .build/cli/polynet.dll" "${ROUNDS:-5}" $peer | tee "$out/data_load.txt"
fi

if [ "$what" = all ] || [ "$what" = model-load ]; then
  echo "== model-load: 1 GiB model with external data (best of 3, warm page cache)"
  $B load "$out/big_external.onnx" 3 | tee "$out/load.txt"
fi

if [ "$what" = all ] || [ "$what" = compare ]; then
  n=50000000
  echo "== compare: full comparison report, $n float32 elements, 2 threads (best of 10: this machine is shared and noisy)"
  gcc -O3 -march=native -o bench/c/floor bench/c/floor.c -lpthread -lm
  {
    $B compare $n 10
    bench/c/floor $n 2 10
    if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
      /usr/bin/python3 bench/numpy_compare.py $n 1
    else
      echo "numpy: python3-numpy is not installed (./setup.sh --test installs it); no numpy baseline"
    fi
  } | tee "$out/compare.txt"
  python3 - "$out/compare.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
p = float(re.search(r"full_report_s ([\d.]+)", t).group(1))
f = float(re.search(r"one_pass_s ([\d.]+)", t).group(1))
m = re.search(r"polygraphy_arithmetic_s ([\d.]+)", t)
print(f"PolyNet {p:.3f} s = {p / f:.1f}x the one-pass floor ({f:.4f} s)" + (f", {float(m.group(1)) / p:.0f}x faster than numpy ({float(m.group(1)):.2f} s)" if m else "") + " (target: <= 0.12 s, >= 100x numpy, <= 3x floor)")
PY
fi

if [ "$what" = all ] || [ "$what" = reduce ]; then
  echo "== reduce: model runs and checks on generated graphs (counts; Polygraphy's from its bisect and linear modes' formulas)"
  $B reduce 100 1000 10000 | tee "$out/reduce.txt"
fi

if [ "$what" = memory ]; then
  # Not in "all": minutes per run. IS-Net int8 at 1024x1024, the corpus's largest activations (./setup.sh --test fetches it).
  m=.deps/corpus/isnet_int8.onnx
  [ -s "$m" ] || { echo "bench: $m is missing: run ./setup.sh --test" >&2; exit 2; }
  echo "== memory: peak resident memory of --mark-all on IS-Net int8 1x3x1024x1024 (onnxrt vs onnxrt:opt=disable), by --max-memory"
  ./polynet run "$m" --runner onnxrt onnxrt:opt=disable --quiet --json "$out/memory_plain.json" >/dev/null || true
  for mm in ${MAX_MEMORY:-1G 4G}; do
    s=$(date +%s)
    ./polynet run "$m" --runner onnxrt onnxrt:opt=disable --mark-all --max-memory "$mm" --quiet --json "$out/memory_$mm.json" >/dev/null || true
    e=$(date +%s)
    python3 - "$out/memory_plain.json" "$out/memory_$mm.json" "$mm" "$((e - s))" <<'PY'
import json, sys
plain, marked = (json.load(open(p)) for p in sys.argv[1:3])
mm, wall = sys.argv[3], float(sys.argv[4])
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
bound_mm = float(mm[:-1]) * units[mm[-1].upper()]
lw = marked.get("layerwise") or {}
base, peak = plain["peak_memory_bytes"], marked["peak_memory_bytes"]
bound = base + 2 * bound_mm + (512 << 20)
print(f"--max-memory {mm}: {lw.get('marked', 0)} tensors in {lw.get('chunks', 0)} chunk(s), {lw.get('runs', 0)} model runs, "
      f"peak {peak / (1 << 30):.2f} GiB (plain run {base / (1 << 30):.2f} GiB; rule: <= {bound / (1 << 30):.2f} GiB, "
      f"{'holds' if peak <= bound else 'BROKEN'}), wall {wall:.0f} s")
PY
  done | tee "$out/memory.txt"
fi
