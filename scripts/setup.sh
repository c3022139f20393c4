#!/usr/bin/env bash
# Installs what dcnjit needs on a fresh Debian machine (idempotent: does nothing when all is there).
# The CUDA toolkit (nvcc, NVRTC, cuBLASLt, headers) is not a Debian package here: it must already be
# installed (default /usr/local/cuda); this script checks for it and says so if it is missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libfmt-dev            # formatting
  libsqlite3-dev        # tuning database and binary cache
  libssl-dev            # libcrypto: sha256 of binary-cache keys
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev      # Google Benchmark suite
  libopenblas-dev       # CPU GEMMs in f64 (and the sim backend's)
  libdnnl-dev           # oneDNN: the CPU backend's f32 and bf16 GEMMs (2x OpenBLAS on the r50 layers; docs/perf.md)
  libboost-context-dev  # sim backend fibers
  libxml2-utils         # xmllint: the profile SVG test checks well-formedness
  # The Python package and its tests (python/, tests/python, examples/scaled_digits): Debian's CPU-only
  # torch and torchvision (PyPI's torch wheels pull in gigabytes of CUDA libraries), scikit-learn for its
  # bundled digits, matplotlib for the experiment's picture.
  python3-dev python3-venv python3-numpy python3-pytest
  python3-torch python3-torchvision python3-sklearn python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# nanobind (the Python bindings) is not packaged by Debian 12: a virtual environment over Debian's python3
# (--system-site-packages: it sees torch & co.) gets the pinned version from PyPI. python/CMakeLists.txt
# builds with .venv/bin/python when it exists; scripts/test.sh runs pytest with it.
nanobind_version=3.1.0
venv=$(cd "$(dirname "$0")/.." && pwd)/.venv
if [[ ! -x $venv/bin/python ]]; then
  echo "setup: creating $venv (Python for the dcnjit package)"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if [[ $("$venv/bin/python" -c 'import nanobind; print(nanobind.__version__)' 2>/dev/null) != "$nanobind_version" ]]; then
  echo "setup: installing nanobind==$nanobind_version into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "nanobind==$nanobind_version"
fi

cuda_root=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -f "$cuda_root/include/nvrtc.h" || ! -e "$cuda_root/lib64/libnvrtc.so" ]]; then
  echo "setup: the CUDA toolkit (NVRTC, cuBLASLt, headers) was not found under $cuda_root;" >&2
  echo "       install CUDA 12.x/13.x there or set CUDA_HOME" >&2
  exit 1
fi
echo "setup: dependencies present (CUDA toolkit at $cuda_root)"
