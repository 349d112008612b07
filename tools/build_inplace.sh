#!/usr/bin/env bash
# Developer build: compile the extension and drop it into python/neurokin so that
# `PYTHONPATH=python python ...` works without installing.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${NK_BUILD_DIR:-build-dev}"
cmake -S . -B "$BUILD" -G Ninja -DNK_BUILD_PYTHON=ON -DCMAKE_BUILD_TYPE=Release \
  -DPython_EXECUTABLE="$(command -v python3)" >/dev/null
cmake --build "$BUILD" -j2
# replace atomically (copy, then rename): processes that have the old module
# loaded keep their mapping instead of crashing on a half-written file
for so in "$BUILD"/_core*.so; do
  dest="python/neurokin/$(basename "$so")"
  cp "$so" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest"
done
