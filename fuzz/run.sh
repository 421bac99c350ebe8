#!/usr/bin/env bash
# PolyNet's fuzzing harness (fuzz/README.md).
#   fuzz/run.sh quick [SECONDS] [TARGET...]   plain mutation, in process, SECONDS per target (default 3): what CI runs
#   fuzz/run.sh afl [EXECS] [TARGET...]       coverage-guided: afl++ driving SharpFuzz-instrumented PolyNet, EXECS inputs
#                                             per target (default 1000000); results into fuzz/results/
#   fuzz/run.sh replay                        every saved finding in fuzz/regressions/ must now be clean
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}; shift || true
out=fuzz/results
mkdir -p "$out"
dotnet build fuzz/PolyNet.Fuzz -c Release -o .build/fuzz -nologo -v q -clp:ErrorsOnly >/dev/null
F="dotnet .build/fuzz/PolyNet.Fuzz.dll"
targets() { if [ $# -gt 0 ]; then echo "$@"; else echo npy npz json pb data onnx onnx-external calib calib-json calib-flatbuffers suite options; fi; }
case "$mode" in
  quick)
    secs=${1:-3}; shift || true
    $F quick "$secs" "$out/quick" $(targets "$@")
    ;;
  replay)
    rc=0
    for d in fuzz/regressions/*/; do
      t=$(basename "$d")
      files=$(find "$d" -type f ! -name '*.txt' | sort)
      [ -n "$files" ] && { $F replay "$t" $files || rc=1; }
    done
    exit $rc
    ;;
  afl)
    execs=${1:-1000000}; shift || true
    command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz is missing (apt-get install afl++)" >&2; exit 2; }
    [ -x .build/tools/sharpfuzz ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path .build/tools >/dev/null
    # FUZZ_REUSE_BUILD=1: another afl run (in parallel, on another core) already published and instrumented the build.
    if [ "${FUZZ_REUSE_BUILD:-}" != 1 ]; then
      rm -rf .build/fuzz-afl
      dotnet publish fuzz/PolyNet.Fuzz -c Release -o .build/fuzz-afl -nologo -v q -clp:ErrorsOnly >/dev/null
      # Instrument PolyNet's own assemblies and the third-party parsers they drive (YAML, protobuf).
      for a in PolyNet.Onnx PolyNet.Calibration PolyNet.Runners PolyNet.Compare PolyNet.Jobs polynet YamlDotNet Google.Protobuf; do
        .build/tools/sharpfuzz ".build/fuzz-afl/$a.dll" >/dev/null
      done
    fi
    export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1
    for t in $(targets "$@"); do
      rm -rf "$out/afl/$t"; mkdir -p "$out/afl/$t"
      $F seeds "$t" "$out/afl/$t/in" >/dev/null
      afl-fuzz -i "$out/afl/$t/in" -o "$out/afl/$t/out" -t 5000 -m none -E "$execs" -V 3600 -- dotnet .build/fuzz-afl/PolyNet.Fuzz.dll afl "$t" > "$out/afl/$t/log" 2>&1 || true
      s="$out/afl/$t/out/default/fuzzer_stats"
      if [ -s "$s" ]; then
        awk -v t="$t" -F' *: *' '{v[$1]=$2} END {printf "%-18s execs %10s  %7s/s  corpus %5s  edges %6s  crashes %s  hangs %s  %s s\n", t, v["execs_done"], v["execs_per_sec"], v["corpus_count"], v["bitmap_cvg"], v["saved_crashes"], v["saved_hangs"], v["run_time"]}' "$s" | tee "$out/afl/$t/summary.txt"
      else
        echo "$t: afl-fuzz did not start (see $out/afl/$t/log)"; tail -5 "$out/afl/$t/log"
      fi
    done
    ;;
  *) echo "usage: fuzz/run.sh quick [SECONDS] [TARGET...] | afl [EXECS] [TARGET...] | replay" >&2; exit 2 ;;
esac
