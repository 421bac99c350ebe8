#!/usr/bin/env bash
# The single self-contained file (./setup.sh --publish linux-x64) through every command on fixtures, from a folder
# outside the repository: it must need nothing of the SDK or the build tree. Called by test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.build/publish/linux-x64/polynet
[ -x "$bin" ] || { echo "published_smoke: $bin is missing (./setup.sh --publish linux-x64)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
m=$root/fixtures/models
step() { local name=$1; shift; if "$@" > "$work/$name.log" 2>&1; then echo "published: $name ok"; else local c=$?; echo "published: $name FAILED (exit $c)"; cat "$work/$name.log"; exit 1; fi; }
expect() { local code=$1 name=$2; shift 2; set +e; "$@" > "$work/$name.log" 2>&1; local c=$?; set -e
  if [ $c -eq "$code" ]; then echo "published: $name ok (exit $c)"; else echo "published: $name FAILED (exit $c, expected $code)"; cat "$work/$name.log"; exit 1; fi; }
step run "$bin" run "$m/convnet.onnx" --runner onnxrt onnxrt:opt=disable --save-outputs out.npz --save-inputs in.npz --json run.json --report run.html
step compare "$bin" compare out.onnxrt.npz "out.onnxrt_opt=disable.npz"
step inspect "$bin" inspect model "$m/convnet.onnx"
step calib "$bin" calib generate "$m/convnet.onnx" --data "$root/fixtures/data/convnet_calib.npz" -o convnet.cache
step calib-inspect "$bin" calib inspect convnet.cache --model "$m/convnet.onnx" --json calib.json
expect 1 mark-all "$bin" run "$m/exp_divergence.onnx" --runner onnxrt onnxrt:precision=fp16 --mark-all --json lw.json
step reduce "$bin" reduce "$m/exp_divergence.onnx" --runner onnxrt onnxrt:precision=fp16 --artifacts red
step reduce-isolated "$bin" reduce "$m/exp_divergence.onnx" --runner onnxrt onnxrt:precision=fp16 --artifacts red2 --isolate
step suite "$bin" suite run "$root/fixtures/suite/example.suite.yaml" --quiet --json suite.json
step capability "$bin" inspect capability "$m/convnet.onnx" --json capability.json --report capability.html
step upgrade "$bin" surgeon upgrade /usr/share/libonnx-testdata/data/pytorch-converted/test_PReLU_2d_multiparam/model.onnx -o prelu13.onnx --opset 13
grep -q '"partitions"' capability.json || { echo "published: capability JSON lacks its partitions"; exit 1; }
grep -q '"first_divergence": *"exp_out"' lw.json || { echo "published: mark-all JSON lacks the first divergence"; exit 1; }
grep -q "exp" red/checks.jsonl || { echo "published: reduce wrote no checks"; exit 1; }
