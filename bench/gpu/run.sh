#!/usr/bin/env bash
# The measurements of docs/gpu.md, on a machine with an NVIDIA GPU (see ../shared/gpu/README.md for how ONNX Runtime
# with its CUDA provider gets there). Stages, each in its own device run (a run may last 10 minutes):
#   bench/gpu/run.sh export    the four models, exported with torch (random weights)
#   bench/gpu/run.sh compare   verdicts: onnxrt vs cuda with TF32 on and off, at default and TF32-fit tolerances; FP16
#   bench/gpu/run.sh layers    where the failing configurations first diverge, and which nodes introduce it (--mark-all)
#   bench/gpu/run.sh bench     polynet bench against bench/c/ort_latency.c, interleaved, device-resident and with copies
#   bench/gpu/run.sh int8      INT8 calibration: an entropy cache from 8 generated samples, then float32 against INT8
#                              emulation on the CPU provider and on the CUDA provider (other inputs than calibration's)
#   bench/gpu/run.sh repeat    repeatability: the same polynet bench 5 times in a row against the first one's --json as
#                              --baseline (REPEAT_MODELS, default resnet50 bert_base; device-resident and with copies),
#                              then a planted slowdown (tf32=0 against a tf32=1 baseline on ResNet-50); repeat_summary.py's table
#   bench/gpu/run.sh fidelity  FP16 emulation fidelity: float32 (CPU) against fp16 (engine-like) and fp16-naive emulation
#                              on the CPU and the CUDA provider's float16, then bench/gpu/fidelity.py's tables (with int8's)
#   bench/gpu/run.sh fidelity-layers   --mark-all of the same four runners: per-tensor curves of each against float32
#                              (and the graph's edges, $m.edges.json, for fidelity.py's per-node comparison)
#   bench/gpu/run.sh fidelity-ops      FP16 emulation with op types kept in float32 (FP32_OPS), against cuda-fp16
# Environment (defaults for the GPU machine): POLYNET (polynet), ORT_LIB (/root/ort/libonnxruntime.so),
# CUDA_LIB (/root/ort/libonnxruntime_providers_cuda.so), MODELS (/root/models), OUT (./gpu-results),
# GPU (the candidate runner; default cuda:provider_lib=$CUDA_LIB), C_GPU (ort_latency's device option; default --cuda $CUDA_LIB),
# MODEL_LIST (default: resnet50 mobilenet_v3_large vit_b_16 bert_base), ROUNDS (4), RUNS (1000), SAMPLES (fidelity's
# --iterations, 2), FP32_OPS (fidelity-ops: space-separated OP+OP... sets, one emulation runner each), EMU_FALLBACK_OPT
# (basic: the emulation's optimization level where the default one crashes ONNX Runtime).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stage=${1:?usage: run.sh export|compare|layers|bench|repeat|int8|fidelity|fidelity-layers|fidelity-ops}
POLYNET=${POLYNET:-polynet}
ORT_LIB=${ORT_LIB:-/root/ort/libonnxruntime.so}
CUDA_LIB=${CUDA_LIB:-/root/ort/libonnxruntime_providers_cuda.so}
MODELS=${MODELS:-/root/models}
OUT=${OUT:-./gpu-results}
GPU=${GPU:-cuda:provider_lib=$CUDA_LIB}
C_GPU=${C_GPU---cuda $CUDA_LIB}
MODEL_LIST=${MODEL_LIST:-resnet50 mobilenet_v3_large vit_b_16 bert_base}
ROUNDS=${ROUNDS:-4}
RUNS=${RUNS:-1000}
SAMPLES=${SAMPLES:-2}
EMU_FALLBACK_OPT=${EMU_FALLBACK_OPT:-basic}
FP32_OPS=${FP32_OPS:-Add Mul Softmax LayerNormalization Erf+Div Gemm+MatMul Conv HardSigmoid+HardSwish GlobalAveragePool+ReduceMean}
# The FP16 fidelity runners: float32 on the CPU (the reference), the two emulation modes, the CUDA provider's float16.
FP16_RUNNERS=(--runner onnxrt --runner onnxrt:precision=fp16,name=fp16-emulation --runner onnxrt:precision=fp16-naive,name=fp16-naive
  --runner "$GPU,precision=fp16,tf32=0,name=cuda-fp16")
mkdir -p "$OUT"
P="$POLYNET --ort-library $ORT_LIB"
run() { # NAME ARGS...: one polynet invocation, its output in $OUT/NAME.txt, its exit code in the log
  local name=$1; shift
  local start=$(date +%s.%N)
  $P "$@" --json "$OUT/$name.json" > "$OUT/$name.txt" 2>&1
  local code=$?
  last=$code
  printf "%-44s exit %d  %6.1f s\n" "$name" "$code" "$(awk "BEGIN { print $(date +%s.%N) - $start }")" | tee -a "$OUT/$stage.log"
  return 0
}

case "$stage" in
repeat)
  for m in ${REPEAT_MODELS:-resnet50 bert_base}; do
    f=$MODELS/$m.onnx
    for mode in bound copies; do
      extra=(); [ "$mode" = copies ] && extra=(--with-copies)
      run "$m.repeat.$mode.0" bench "$f" --runner "$GPU,name=gpu" "${extra[@]}"
      for i in 1 2 3 4 5; do
        run "$m.repeat.$mode.$i" bench "$f" --runner "$GPU,name=gpu" "${extra[@]}" --baseline "$OUT/$m.repeat.$mode.0.json"
      done
    done
  done
  f=$MODELS/resnet50.onnx
  run resnet50.planted.base bench "$f" --runner "$GPU,tf32=1,name=gpu"
  run resnet50.planted.same bench "$f" --runner "$GPU,tf32=1,name=gpu" --baseline "$OUT/resnet50.planted.base.json"
  run resnet50.planted.tf32off bench "$f" --runner "$GPU,tf32=0,name=gpu" --baseline "$OUT/resnet50.planted.base.json"
  python3 "$here/../repeat_summary.py" "$OUT" | tee "$OUT/repeat.md"
  ;;
export)
  python3 "$here/export_models.py" "$MODELS" ${EXPORT_ONLY:-} 2> "$OUT/export.err" | tee -a "$OUT/export.log"
  ;;
compare)
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    run "$m.tf32.default" run "$f" --runner onnxrt --runner "$GPU,name=cuda-tf32" --runner "$GPU,tf32=0,name=cuda-fp32"
    run "$m.tf32.fit" run "$f" --runner onnxrt --runner "$GPU,name=cuda-tf32" --runner "$GPU,tf32=0,name=cuda-fp32" --atol 1e-3 --rtol 1e-3
    run "$m.fp16" run "$f" --runner onnxrt --runner onnxrt:precision=fp16,name=fp16-emulation --runner "$GPU,precision=fp16,name=cuda-fp16"
  done
  ;;
layers)
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    if grep -q "^$m.tf32.default .*exit 1" "$OUT/compare.log" 2>/dev/null; then
      run "$m.tf32.layers" run "$f" --runner onnxrt --runner "$GPU,name=cuda-tf32" --mark-all
    fi
    if grep -q "^$m.fp16 .*exit 1" "$OUT/compare.log" 2>/dev/null; then
      run "$m.fp16.layers" run "$f" --runner onnxrt --runner onnxrt:precision=fp16,name=fp16-emulation --mark-all
    fi
  done
  ;;
int8)
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    c=$OUT/$m.entropy.cache
    if [ ! -s "$c" ]; then
    $P run "$f" --runner onnxrt --iterations 8 --seed 7 --save-inputs "$OUT/$m.calib.npz" --save-outputs "$OUT/$m.calib_outputs.npz" --quiet > /dev/null 2>&1
    rm -f "$OUT/$m.calib_outputs.npz"
    start=$(date +%s.%N)
    $P calib generate "$f" --data "$OUT/$m.calib.npz" --method entropy -o "$OUT/$m.entropy.cache" > "$OUT/$m.int8.generate.txt" 2>&1
    printf "%-44s exit %d  %6.1f s\n" "$m.int8.generate" "$?" "$(awk "BEGIN { print $(date +%s.%N) - $start }")" | tee -a "$OUT/$stage.log"
    rm -f "$OUT/$m.calib.npz"
    fi
    run "$m.int8" run "$f" --runner onnxrt --runner "onnxrt:precision=int8,calib=$c,name=int8-emulation-cpu" \
      --runner "$GPU,precision=int8,calib=$c,tf32=0,name=int8-emulation-cuda" --iterations 2
    # The emulation itself, CPU against CUDA: the same simulated arithmetic, so they should agree to float32 rounding.
    run "$m.int8.cpu_vs_cuda" run "$f" --runner "onnxrt:precision=int8,calib=$c,name=int8-emulation-cpu" \
      --runner "$GPU,precision=int8,calib=$c,tf32=0,name=int8-emulation-cuda" --iterations 2 --atol 1e-3 --rtol 1e-3
  done
  ;;
fidelity)
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    run "$m.fidelity" run "$f" "${FP16_RUNNERS[@]}" --iterations "$SAMPLES"
    if [ "$last" -ge 128 ]; then
      # A crash (seen: ViT-B/16's fp16 emulation model segfaults ONNX Runtime 1.29's CPU session creation at opt=layout
      # and opt=all, 2026-12-02): the other three again, and the emulation alone at a lower optimization level
      # (fidelity.py merges $m.fidelity.emu.json and names the runner it used).
      run "$m.fidelity" run "$f" "${FP16_RUNNERS[@]:0:2}" "${FP16_RUNNERS[@]:4}" --iterations "$SAMPLES"
      run "$m.fidelity.emu" run "$f" --runner onnxrt --runner "onnxrt:precision=fp16,opt=$EMU_FALLBACK_OPT,name=fp16-emulation.opt=$EMU_FALLBACK_OPT" \
        --runner "$GPU,precision=fp16,tf32=0,name=cuda-fp16" --iterations "$SAMPLES"
    fi
  done
  python3 "$here/fidelity.py" "$OUT" | tee "$OUT/fidelity.md"
  ;;
fidelity-layers)
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    run "$m.fidelity.layers" run "$f" "${FP16_RUNNERS[@]}" --mark-all --no-localize
    # On a crash (see fidelity), the curves of fp16-naive and cuda-fp16 alone: the emulation at opt=basic with every
    # tensor marked did not finish in ~190 s on ViT-B/16.
    [ "$last" -ge 128 ] && run "$m.fidelity.layers" run "$f" "${FP16_RUNNERS[@]:0:2}" "${FP16_RUNNERS[@]:4}" --mark-all --no-localize
    # Which tensors each node reads, for fidelity.py's per-node error growth (onnx is there with torch).
    python3 -c '
import json, sys, onnx
g = onnx.load(sys.argv[1], load_external_data=False).graph
consts = {i.name for i in g.initializer} | {o for n in g.node if n.op_type == "Constant" for o in n.output}
json.dump({"inputs": [i.name for i in g.input if i.name not in consts],
           "nodes": [{"name": n.name, "op": n.op_type, "in": [x for x in n.input if x and x not in consts], "out": list(n.output)}
                     for n in g.node if n.op_type != "Constant"]}, open(sys.argv[2], "w"))' "$f" "$OUT/$m.edges.json"
  done
  python3 "$here/fidelity.py" "$OUT" | tee "$OUT/fidelity.md"
  ;;
fidelity-ops)
  for m in $MODEL_LIST; do
    # Only the sets that name an op type the model has (onnx is there with torch).
    present=" $(python3 -c 'import onnx, sys; print(" ".join(sorted({n.op_type for n in onnx.load(sys.argv[1], load_external_data=False).graph.node})))' "$MODELS/$m.onnx") "
    specs=()
    for ops in $FP32_OPS; do
      for op in ${ops//+/ }; do
        if [[ $present == *" $op "* ]]; then specs+=("onnxrt:precision=fp16,fp32_ops=$ops,name=fp16-emulation.fp32.$ops"); break; fi
      done
    done
    args=(); for x in "${specs[@]}"; do args+=(--runner "$x"); done
    run "$m.fidelity.ops" run "$MODELS/$m.onnx" --runner onnxrt --runner "$GPU,precision=fp16,tf32=0,name=cuda-fp16" \
      --runner onnxrt:precision=fp16,name=fp16-emulation "${args[@]}" --iterations "$SAMPLES"
    if [ "$last" -ge 128 ]; then  # a crash (see fidelity): every emulation runner at the lower optimization level
      run "$m.fidelity.ops" run "$MODELS/$m.onnx" --runner onnxrt --runner "$GPU,precision=fp16,tf32=0,name=cuda-fp16" \
        --runner "onnxrt:precision=fp16,opt=$EMU_FALLBACK_OPT,name=fp16-emulation.opt=$EMU_FALLBACK_OPT" \
        $(for x in "${specs[@]}"; do printf -- '--runner %s.opt=%s ' "${x/,name=/,opt=$EMU_FALLBACK_OPT,name=}" "$EMU_FALLBACK_OPT"; done) --iterations "$SAMPLES"
    fi
  done
  python3 "$here/fidelity.py" "$OUT" | tee "$OUT/fidelity.md"
  ;;
bench)
  C=$here/../c/ort_latency
  [ -x "$C" ] || gcc -O2 -o "$C" "$here/../c/ort_latency.c" -ldl
  for m in $MODEL_LIST; do
    f=$MODELS/$m.onnx
    : > "$OUT/$m.c_bound.txt"; : > "$OUT/$m.c_copies.txt"
    for r in $(seq "$ROUNDS"); do
      # Interleaved: C, PolyNet, C again, so drift on the machine hits both alike.
      "$C" "$ORT_LIB" "$f" 50 "$RUNS" $C_GPU | grep '^summary' >> "$OUT/$m.c_bound.txt"
      run "$m.bench.bound.$r" bench "$f" --runner "$GPU" --warmup 50 --iterations "$RUNS"
      "$C" "$ORT_LIB" "$f" 50 "$RUNS" $C_GPU --copies | grep '^summary' >> "$OUT/$m.c_copies.txt"
      run "$m.bench.copies.$r" bench "$f" --runner "$GPU" --warmup 50 --iterations "$RUNS" --with-copies
    done
    run "$m.bench.cpu" bench "$f" --runner onnxrt --warmup 5 --iterations 50
  done
  python3 "$here/summarize.py" "$OUT" | tee "$OUT/summary.md"
  ;;
*) echo "run.sh: unknown stage '$stage'" >&2; exit 2 ;;
esac
