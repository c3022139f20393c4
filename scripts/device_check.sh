#!/usr/bin/env bash
# The whole GPU check of dcnjit, in two halves (docs/gpu.md explains the workflow):
#
#   scripts/device_check.sh prepare             on the build machine (no GPU needed): builds the GPU
#                                               test binary, the CLI and the benchmarks into
#                                               build-device/ and packs them with the shared libraries
#                                               the GPU machine may lack into ONE file,
#                                               build-device/device_bundle.tar.gz (carry that path).
#   scripts/device_check.sh device [STAGE...]   on the GPU machine, from the repository root: unpacks
#                                               the bundle and runs the stages (default: all, in order)
#                                                 env       device, driver, toolkit, `dcnjit devices`
#                                                 tests     test_runtime_cuda (every GPU test)
#                                                 memcheck  compute-sanitizer memcheck over a sample
#                                                 bench     dcnjit_bench on the dcnv2-r50 preset
#                                                 compare   torchvision side by side, f32 and f16
#                                                 fused     the same with --algorithm fused and im2col:
#                                                           both families, torchvision and the dense
#                                                           convolution (cuDNN) of the same shape
#                                               and writes a short table last (summary.md).
#
# Results go to $OUT (the device tool's output folder) or, when unset, build-device/results/.
# Each stage has its own time limit (the device tool allows 10 minutes per command), so the stages
# can also be run one call at a time: `scripts/device_check.sh device tests memcheck`, then
# `scripts/device_check.sh device bench compare`. Every stage appends one line to the summary, so
# the table covers all stages run into the same $OUT.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)

build_dir=build-device
bundle_file=$build_dir/device_bundle.tar.gz
results=${OUT:-$repo/$build_dir/results}

# The DCNv2 ResNet-50 layers (3x3, pad 1, mask), batch 2 and 8.
r50_problems=(
  "N2 C128 H100 W152 Co128 k3 p1 mask" "N8 C128 H100 W152 Co128 k3 p1 mask"
  "N2 C256 H50 W76 Co256 k3 p1 mask" "N8 C256 H50 W76 Co256 k3 p1 mask"
  "N2 C512 H25 W38 Co512 k3 p1 mask" "N8 C512 H25 W38 Co512 k3 p1 mask"
)

# The shared libraries a binary needs that come from the GPU machine itself: the C library family
# and the CUDA libraries (driver, cuBLASLt and NVRTC are far too large to carry and must match the
# machine's driver anyway).
system_library_pattern='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libgcc_s\.|libcuda\.|libcublas|libnvrtc)'

die() {
  echo "device_check: $*" >&2
  exit 1
}

# ------------------------------------------------------------------------------------ prepare (here)

prepare() {
  echo "== configure $build_dir (Release, libstdc++/libgcc static)"
  # libstdc++ statically: the GPU machine's may be older than the compiler's here.
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCNJIT_BUILD_TESTS=ON \
    -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" >/dev/null || die "cmake configure failed"

  echo "== build dcnjit_cli test_runtime_cuda (-j2: the build machine is shared)"
  ninja -C "$build_dir" -j2 dcnjit_cli test_runtime_cuda || die "build failed"
  # The benchmarks are optional: without them the bench stage reports "skipped".
  rm -f "$build_dir/bin/dcnjit_bench"
  if ninja -C "$build_dir" -t targets all 2>/dev/null | grep -q '^dcnjit_bench:'; then
    ninja -C "$build_dir" -j2 dcnjit_bench >/dev/null || echo "warning: dcnjit_bench did not build; bench will be skipped"
  fi

  echo "== bundle"
  local bundle=$build_dir/bundle
  rm -rf "$bundle" && mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/cuda-include"
  local binary
  for binary in dcnjit test_runtime_cuda dcnjit_bench; do
    [[ -x $build_dir/bin/$binary ]] && cp "$build_dir/bin/$binary" "$bundle/bin/"
  done
  # Shared libraries that are not part of the base system or CUDA (fmt, SQLite, OpenBLAS, OpenSSL's
  # libcrypto, Google Benchmark, Boost.Context, gfortran ...).
  local lib path
  for binary in "$bundle"/bin/*; do
    ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r lib path; do
      [[ $lib =~ $system_library_pattern ]] && continue
      cp -L -n "$path" "$bundle/lib/$lib"
    done
  done
  # NVRTC needs cuda_fp16.h / cuda_bf16.h; used only when the GPU machine's toolkit has no headers.
  local cuda_include
  cuda_include=$(dirname "$(find /usr/local/cuda/include /usr/local/cuda/targets/*/include -maxdepth 1 \
    -name cuda_fp16.h 2>/dev/null | head -1)")
  [[ -f $cuda_include/cuda_fp16.h ]] && cp -r "$cuda_include"/. "$bundle/cuda-include/"
  git rev-parse HEAD >"$bundle/commit" 2>/dev/null || true

  tar -C "$build_dir" -czf "$bundle_file" bundle || die "tar failed"
  local bytes
  bytes=$(stat -c %s "$bundle_file")
  echo "== $bundle_file: $((bytes / 1024 / 1024)) MiB (the device tool carries at most 64 MiB)"
  ((bytes < 64 * 1024 * 1024)) || die "bundle too large for the device tool"
  echo "next: run 'scripts/device_check.sh device' on the GPU machine with carry=[\"$bundle_file\"]"
}

# ------------------------------------------------------------------------------------ device (there)

summary_line() {  # stage, status, detail
  printf '| %-8s | %-7s | %s |\n' "$1" "$2" "$3" >>"$results/summary.rows"
}

# Directories holding libcublasLt.so.13 and libnvrtc.so.13 on this machine: the toolkit, or the
# NVIDIA wheels that PyTorch installs.
cuda_library_dirs() {
  local candidates=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda-*/lib64 /usr/local/cuda/targets/*/lib)
  local site
  site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
  local dir
  for dir in $site; do candidates+=("$dir"/nvidia/*/lib "$dir"/nvidia/cu13/lib); done
  for dir in "${candidates[@]}"; do
    [[ -d $dir ]] || continue
    if compgen -G "$dir/libcublasLt.so.*" >/dev/null || compgen -G "$dir/libnvrtc.so.*" >/dev/null; then echo "$dir"; fi
  done | awk '!seen[$0]++' | paste -sd:
}

setup_device() {
  [[ -f $bundle_file ]] || die "$bundle_file missing: run 'scripts/device_check.sh prepare' on the build machine and carry it"
  mkdir -p "$results"
  rm -rf "$build_dir/bundle"
  tar -C "$build_dir" -xzf "$bundle_file" || die "cannot unpack $bundle_file"
  bin=$repo/$build_dir/bundle/bin
  local cuda_dirs
  cuda_dirs=$(cuda_library_dirs)
  export LD_LIBRARY_PATH="$repo/$build_dir/bundle/lib${cuda_dirs:+:$cuda_dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # The golden fixtures of this checkout (the binaries were built elsewhere).
  export DCNJIT_TEST_DATA=$repo/tests/data
  # A fresh cache per check: compile times are part of what the first run shows.
  export DCNJIT_CACHE=$results/cache/tuning.sqlite
  if ! compgen -G "/usr/local/cuda/include/cuda_fp16.h" >/dev/null && [[ -z ${DCNJIT_CUDA_INCLUDE:-} ]]; then
    export DCNJIT_CUDA_INCLUDE=$repo/$build_dir/bundle/cuda-include
  fi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  if ldd "$bin/test_runtime_cuda" | grep -q 'not found'; then
    ldd "$bin/test_runtime_cuda" | grep 'not found'
    die "shared libraries missing on this machine (above)"
  fi
}

stage_env() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(cat "$build_dir/bundle/commit" 2>/dev/null || echo unknown)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    "$bin/dcnjit" devices 2>&1
    python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__,
"cuda", torch.version.cuda)' 2>&1
  } | tee "$results/env.txt"
  local gpu
  gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
  summary_line env "$([[ -n $gpu ]] && echo ok || echo FAIL)" "${gpu:-nvidia-smi failed}"
}

stage_tests() {
  timeout 540 "$bin/test_runtime_cuda" --gtest_output="xml:$results/test_runtime_cuda.xml" \
    >"$results/test_runtime_cuda.log" 2>&1
  local rc=$?
  tail -30 "$results/test_runtime_cuda.log"
  local passed failed skipped gpu_skipped
  passed=$(grep -c '^\[       OK \]' "$results/test_runtime_cuda.log")
  failed=$(grep -c '^\[  FAILED  \] .*(' "$results/test_runtime_cuda.log")
  skipped=$(grep -c '^\[  SKIPPED \] .*(' "$results/test_runtime_cuda.log")
  # On a GPU machine only the no-driver tests may skip; a GPU test that skips means the GPU was unusable.
  gpu_skipped=$(grep -c 'no CUDA driver/GPU:' "$results/test_runtime_cuda.log")
  summary_line tests "$([[ $rc == 0 && $gpu_skipped == 0 ]] && echo ok || echo FAIL)" \
    "test_runtime_cuda: $passed passed, $failed failed, $skipped skipped ($gpu_skipped for want of a GPU; rc $rc)"
}

stage_memcheck() {
  local sanitizer
  sanitizer=$(command -v compute-sanitizer)
  [[ -z $sanitizer && -x /usr/local/cuda/bin/compute-sanitizer ]] && sanitizer=/usr/local/cuda/bin/compute-sanitizer
  if [[ -z $sanitizer ]]; then
    summary_line memcheck skipped "compute-sanitizer not found"
    return
  fi
  # A sample that launches every kernel family: forward and all gradients, f32 and f16, a partial last
  # chunk, v1 and v2, groups and offset groups, plus the cuBLASLt bias path and a golden border case.
  local sample='CudaVsCpuTest.*/mask_bias_pad1_N3_step2_f32:CudaVsCpuTest.*/v1_groups2_og2_stride2_dil2_N5_step3_f16'
  sample+=':CudaGoldenTest.*v2_edge_points*:CublasLtGemmGpuTest.*f16_bias:CudaGradientSubsetTest.*offset_only'
  timeout 540 "$sanitizer" --tool memcheck --error-exitcode 86 --print-limit 20 \
    "$bin/test_runtime_cuda" --gtest_filter="$sample" >"$results/memcheck.log" 2>&1
  local rc=$?
  tail -15 "$results/memcheck.log"
  local summary
  summary=$(grep -E 'ERROR SUMMARY' "$results/memcheck.log" | tail -1)
  summary_line memcheck "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "${summary:-no summary} (rc $rc)"
}

stage_bench() {
  if [[ ! -x $bin/dcnjit_bench ]]; then
    summary_line bench skipped "dcnjit_bench not in the bundle"
    return
  fi
  timeout 540 "$bin/dcnjit_bench" --benchmark_filter='/cuda/dcnv2-r50' --benchmark_repetitions=1 \
    --benchmark_out="$results/bench.json" --benchmark_out_format=json >"$results/bench.txt" 2>&1
  local rc=$?
  tail -40 "$results/bench.txt"
  summary_line bench "$([[ $rc == 0 ]] && echo ok || echo FAIL)" "dcnjit_bench cuda/dcnv2-r50 -> bench.json (rc $rc)"
}

stage_compare() {
  local problem_args=() problem
  for problem in "${r50_problems[@]}"; do problem_args+=(--problem "$problem"); done
  local dtype rc status=ok detail=""
  for dtype in f32 f16; do
    timeout 280 python3 scripts/compare_torchvision.py --device cuda --dtype "$dtype" --dcnjit "$bin/dcnjit" \
      --repeats 10 --warmup 3 "${problem_args[@]}" --out "$results/compare_$dtype.md" \
      >"$results/compare_$dtype.log" 2>&1
    rc=$?
    tail -20 "$results/compare_$dtype.log"
    [[ $rc == 0 ]] || status=FAIL
    detail+="$dtype: compare_$dtype.md (rc $rc); "
  done
  summary_line compare "$status" "torchvision vs dcnjit, r50 layers, ${detail% }"
}

# The two algorithm families forced in turn against torchvision and the dense convolution (torch's
# conv2d: cuDNN), f16 (the targets of docs/perf.md) and f32.
stage_fused() {
  local problem_args=() problem
  for problem in "${r50_problems[@]}"; do problem_args+=(--problem "$problem"); done
  local dtype algorithm rc status=ok detail=""
  for dtype in f16 f32; do
    for algorithm in fused im2col; do
      timeout 140 python3 scripts/compare_torchvision.py --device cuda --dtype "$dtype" --dcnjit "$bin/dcnjit" \
        --algorithm "$algorithm" --repeats 10 --warmup 3 "${problem_args[@]}" \
        --out "$results/compare_${algorithm}_$dtype.md" >"$results/compare_${algorithm}_$dtype.log" 2>&1
      rc=$?
      tail -12 "$results/compare_${algorithm}_$dtype.log"
      [[ $rc == 0 ]] || status=FAIL
      detail+="$algorithm $dtype: compare_${algorithm}_$dtype.md (rc $rc); "
    done
  done
  summary_line fused "$status" "fused vs im2col vs torchvision vs dense conv, r50 layers, ${detail% }"
}

write_summary() {
  {
    echo "# dcnjit device check, $(date -u +%Y-%m-%d)"
    echo
    echo "| stage    | status  | detail |"
    echo "|----------|---------|--------|"
    cat "$results/summary.rows"
  } >"$results/summary.md"
  echo
  cat "$results/summary.md"
}

device() {
  local stages=("$@")
  ((${#stages[@]})) || stages=(env tests memcheck bench compare fused)
  setup_device
  local stage
  for stage in "${stages[@]}"; do
    case $stage in
      env | tests | memcheck | bench | compare | fused) echo "== $stage" && "stage_$stage" ;;
      *) die "unknown stage '$stage' (env, tests, memcheck, bench, compare, fused)" ;;
    esac
  done
  write_summary
  ! grep -q '| FAIL ' "$results/summary.rows"
}

case ${1:-} in
  prepare) prepare ;;
  device) shift && device "$@" ;;
  *) die "usage: scripts/device_check.sh prepare | device [env|tests|memcheck|bench|compare|fused ...]" ;;
esac
