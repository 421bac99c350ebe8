#!/usr/bin/env bash
# Sets up everything the tests need (./setup.sh --test: ONNX Runtime, Debian's libonnx-testdata, numpy, chromium,
# the en_US.UTF-8 locale, the real-model corpus; --publish: the single-file build) and runs every test. Tests that
# need a GPU or TensorRT report as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --test --publish linux-x64
rm -f .build/conformance.txt
dotnet test PolyNet.sln --nologo "$@"
if [ -f .build/conformance.txt ]; then cat .build/conformance.txt; fi
# The single self-contained file, through every command, from a folder outside the repository.
bash tests/published_smoke.sh
# The dotnet tool, packed, installed from its folder and run.
bash tests/tool_smoke.sh
# The example regression suite, as a team's CI would run it; its reports stay in .build/suite/ for the CI to keep.
mkdir -p .build/suite
./polynet suite run fixtures/suite/example.suite.yaml --quiet --junit .build/suite/junit.xml \
  --markdown .build/suite/summary.md --report .build/suite/report.html --json .build/suite/results.json
# Fuzzing, quick mode (fuzz/README.md): every parser, 3 s of plain mutation each, must end every input cleanly; and
# every input a fuzzer or a report ever found (fuzz/regressions/) must stay clean.
bash fuzz/run.sh replay
bash fuzz/run.sh quick 3
