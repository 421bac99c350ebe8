#!/usr/bin/env bash
# PolyNet as users install tools: the dotnet tool package (dotnet pack, into .build/tool), installed from that folder
# into a fresh tool path, runs the README's comparison from a folder outside the repository. Called by test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dotnet pack "$root/src/Cli/PolyNet.Cli.csproj" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
DOTNET_CLI_HOME=$work/home dotnet tool install --tool-path "$work/tools" --add-source "$root/.build/tool" polynet > install.log 2>&1 \
  || { echo "tool: install FAILED"; cat install.log; exit 1; }
"$work/tools/polynet" run "$root/fixtures/models/convnet.onnx" --runner onnxrt --runner onnxrt:opt=disable > run.log 2>&1 \
  || { echo "tool: run FAILED"; cat run.log; exit 1; }
grep -q "^\[I\] PASSED" run.log || { echo "tool: the comparison did not pass"; cat run.log; exit 1; }
echo "tool: installed from .build/tool and ran the README's comparison"
