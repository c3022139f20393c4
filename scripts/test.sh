#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. installs missing dependencies (scripts/setup.sh),
#   2. builds Release into build/ (with the Python package) and runs every ctest test,
#   3. runs the Python package's tests (pytest, tests/python) against build/python,
#   4. builds the CPU and sim paths with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/
#      and runs their tests.
# GPU tests skip with a stated reason on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

echo "== Release build and full test suite"
scripts/build.sh -DDCNJIT_BUILD_PYTHON=ON
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 1500

echo "== Python package tests (pytest)"
PYTHONPATH=build/python .venv/bin/python -m pytest tests/python -q -rxs

echo "== ASan+UBSan build: CPU and sim paths"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCNJIT_SANITIZE=ON -DDCNJIT_BUILD_BENCH=OFF \
  -DDCNJIT_BUILD_PYTHON=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1500 -L 'core|engine|algorithms|cpu|golden|io|sim|asan_extended|store'
