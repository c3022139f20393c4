#!/usr/bin/env bash
# The newcomer's first command: install what is missing, build, and run the main job:
# `dcnjit tune` on a built-in preset with the SQLite cache at its default path, on the best backend
# present (cuda when a GPU is visible, else cpu). The build includes the Python package (build/python).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DDCNJIT_BUILD_PYTHON=ON
backend=cpu
preset=smoke
if build/bin/dcnjit devices >/dev/null 2>&1; then backend=cuda; preset=dcnv2-r50; fi
echo "== dcnjit tune --preset $preset --backend $backend"
build/bin/dcnjit tune --preset "$preset" --backend "$backend" --pass all
echo "== the Python package: PYTHONPATH=build/python .venv/bin/python -c 'import dcnjit'"
PYTHONPATH=build/python .venv/bin/python -c 'import dcnjit; print("dcnjit", dcnjit.__version__, "imports from", dcnjit.__file__)'
