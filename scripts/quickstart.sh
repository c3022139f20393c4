#!/usr/bin/env bash
# The newcomer's first command: install what is missing, build (with the Python package in build/python),
# and run the main job: `dcnjit tune` on the DCNv2 ResNet-50 layers (preset dcnv2-r50: 128, 256 and 512
# channels, batch 2, f32 and f16) with the SQLite cache at its default path, on the best backend present.
#   cuda (a GPU is visible): every candidate config, the tuner's default budget.
#   cpu (no GPU): forward and backward of the six problems with 7 s per problem and pass, at most
#     12 x 7 = 84 s of timing (about 1.5 minutes in all on a 2-core machine); the table shows, per
#     problem and pass, the heuristic's time, the winner's, and what tuning bought.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DDCNJIT_BUILD_PYTHON=ON
preset=dcnv2-r50
if build/bin/dcnjit devices >/dev/null 2>&1; then
  echo "== dcnjit tune --preset $preset --backend cuda --pass all"
  build/bin/dcnjit tune --preset "$preset" --backend cuda --pass all
else
  budget=7
  echo "== dcnjit tune --preset $preset --backend cpu --pass all --budget $budget (no GPU: the cpu backend," \
       "at most $budget s per problem and pass)"
  start=$SECONDS
  build/bin/dcnjit tune --preset "$preset" --backend cpu --pass all --budget "$budget"
  echo "== tuned in $((SECONDS - start)) s"
fi
echo "== the Python package: PYTHONPATH=build/python .venv/bin/python -c 'import dcnjit'"
PYTHONPATH=build/python .venv/bin/python -c 'import dcnjit; print("dcnjit", dcnjit.__version__, "imports from", dcnjit.__file__)'
