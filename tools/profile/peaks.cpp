#include "tools/profile/peaks.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>
#include <type_traits>
#include <vector>

#include "dcnjit/error.h"
#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/cpu_knobs.h"
#include "tools/profile/arithmetic_ceiling.h"
#include "tools/profile/best_rate.h"
#include "tools/profile/cuda_peaks.h"

namespace dcnjit::profile {
namespace {

// STREAM-style copy bandwidth: each thread copies its slice of a buffer far larger than the
// last-level cache. Counted as read + write bytes (2 x size), as STREAM's "Copy" does.
double copy_bandwidth_gbps(int threads, std::size_t bytes, int trials) {
  std::vector<char> source(bytes, 1), destination(bytes, 0);
  const std::size_t slice = bytes / std::size_t(threads);
  return best_rate(threads, 0, trials, 2.0 * double(slice * std::size_t(threads)), [&](int t) {
    std::memcpy(destination.data() + t * slice, source.data() + t * slice, slice);
  });
}

// Square sgemm large enough to run at full speed (n=1024 is ~2 GFLOP, tens of ms on one core), one
// call on OpenBLAS's own `threads` threads; the first call only warms OpenBLAS up.
double sgemm_gflops(int threads, int n, int trials) {
  std::vector<float> a(std::size_t(n) * n, 0.5f), b(std::size_t(n) * n, 0.25f), c(std::size_t(n) * n, 0.0f);
  const int previous_threads = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  const double best = best_rate(1, 1, trials, 2.0 * double(n) * n * n, [&](int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
                n);
  });
  openblas_set_num_threads(previous_threads);
  return best;
}

// The cpu backend's own GEMM: each of `threads` threads runs single-threaded n^3 GEMMs on its own A and C
// (one B shared, as the backend's items share packed weights), all at once; FLOPs of all over the wall time.
template <typename In>
double backend_gemm_gflops(cpu::GemmLibrary library, int threads, int n, int trials) {
  cpu::GemmShape shape;
  shape.m = shape.n = shape.k = shape.lda = shape.ldb = shape.ldc = n;
  using Out = std::conditional_t<std::is_same_v<In, double>, double, float>;  // bf16 GEMMs write f32
  const cpu::Gemm<In, Out> gemm(library, shape);
  const std::size_t square = std::size_t(n) * n;
  auto value = [](float v) {
    if constexpr (std::is_same_v<In, cpu::Bf16>) return cpu::to_bf16(v);
    else return In(v);
  };
  const std::vector<In> a(square * std::size_t(threads), value(0.5f)), b(square, value(0.25f));
  std::vector<Out> c(square * std::size_t(threads));
  // The first round only warms the library up.
  return best_rate(threads, 1, trials, 2.0 * double(n) * n * n * threads,
                   [&](int t) { gemm.run(a.data() + t * square, b.data(), c.data() + t * square); });
}

}  // namespace

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        return value;
      }
    }
  }
  return "unknown CPU";
}

Peaks measure_peaks(Backend backend, const Config& config, int threads, int ordinal, DType dtype) {
  Peaks peaks;
  if (backend == Backend::cuda) {
    try {
      return measure_cuda_peaks(ordinal, dtype);
    } catch (const Error& e) {
      peaks.device = fmt::format("cuda device {}", ordinal);
      peaks.note = fmt::format("device peaks not measured ({}); rates are shown without a peak", e.what());
      return peaks;
    }
  }
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int n_threads = threads > 0 ? threads : cores;
  constexpr std::size_t kCopyBytes = std::size_t(128) << 20;  // well beyond any LLC of a CPU this runs on
  constexpr int kCopyTrials = 5, kGemmSize = 1024, kGemmTrials = 3;
  peaks.device = fmt::format("{}, {} thread{}", cpu_model(), n_threads, n_threads == 1 ? "" : "s");
  peaks.bandwidth_gbps = copy_bandwidth_gbps(n_threads, kCopyBytes, kCopyTrials);
  peaks.bandwidth_method = fmt::format("memcpy of {} MiB on {} thread(s), read+write bytes, best of {}",
                                       kCopyBytes >> 20, n_threads, kCopyTrials);
  if (backend == Backend::sim) {
    peaks.gemm_gflops = sgemm_gflops(n_threads, kGemmSize, kGemmTrials);
    peaks.gemm_method =
        fmt::format("OpenBLAS sgemm {}^3 on {} thread(s), best of {}", kGemmSize, n_threads, kGemmTrials);
    peaks.note = "sim runs generated CUDA on the host to check it, not for speed: host peaks shown";
    return peaks;
  }
  // cpu: what the pass's GEMM phases call, so "of peak" is against the library they run on, not another
  // one (OpenBLAS's sgemm is half of oneDNN's on a Zen 5 core: docs/perf.md).
  try {
    const cpu::CpuConfig cpu_config = cpu::cpu_config_of(config);
    const cpu::GemmPath path = cpu::gemm_path_of(dtype, cpu_config);
    const cpu::GemmLibrary library = path == cpu::GemmPath::f64 ? cpu::GemmLibrary::openblas : cpu_config.gemm;
    const char* what = path == cpu::GemmPath::f64 ? "dgemm"
                       : library == cpu::GemmLibrary::openblas ? "sgemm"
                       : path == cpu::GemmPath::bf16 ? "bf16 matmul (f32 accumulation)"
                                                     : "f32 matmul";
    if (library == cpu::GemmLibrary::openblas) cpu::pin_blas_to_one_thread();
    auto gflops = [&](auto in) {
      return backend_gemm_gflops<decltype(in)>(library, n_threads, kGemmSize, kGemmTrials);
    };
    peaks.gemm_gflops = path == cpu::GemmPath::f64    ? gflops(double{})
                        : path == cpu::GemmPath::bf16 ? gflops(cpu::Bf16{})
                                                      : gflops(float{});
    peaks.gemm_method = fmt::format("{} {} {}^3 per thread on {} thread(s), best of {}",
                                    library == cpu::GemmLibrary::onednn ? "oneDNN" : "OpenBLAS", what, kGemmSize,
                                    n_threads, kGemmTrials);
    const Ceiling ceiling = arithmetic_ceiling(path, n_threads);
    peaks.ceiling_gflops = ceiling.gflops;
    peaks.ceiling_method = ceiling.method;
  } catch (const Error& e) {
    peaks.note = fmt::format("GEMM peak not measured ({}); GFLOP/s are shown without a peak", e.what());
  }
  return peaks;
}

}  // namespace dcnjit::profile
