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

cuda_root=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -f "$cuda_root/include/nvrtc.h" || ! -e "$cuda_root/lib64/libnvrtc.so" ]]; then
  echo "setup: the CUDA toolkit (NVRTC, cuBLASLt, headers) was not found under $cuda_root;" >&2
  echo "       install CUDA 12.x/13.x there or set CUDA_HOME" >&2
  exit 1
fi
echo "setup: dependencies present (CUDA toolkit at $cuda_root)"
