#include "tools/profile/peaks.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "dcnjit/error.h"
#include "tools/profile/cuda_peaks.h"

namespace dcnjit::profile {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// STREAM-style copy bandwidth: each thread copies its slice of a buffer far larger than the
// last-level cache. Counted as read + write bytes (2 x size), as STREAM's "Copy" does.
double copy_bandwidth_gbps(int threads, std::size_t bytes, int trials) {
  std::vector<char> source(bytes, 1), destination(bytes, 0);
  const std::size_t slice = bytes / std::size_t(threads);
  double best = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] { std::memcpy(destination.data() + t * slice, source.data() + t * slice, slice); });
    for (auto& w : workers) w.join();
    best = std::max(best, 2.0 * double(slice * std::size_t(threads)) / seconds_since(start) / 1e9);
  }
  return best;
}

// Square sgemm large enough to run at full speed (n=1024 is ~2 GFLOP, tens of ms on one core).
double sgemm_gflops(int threads, int n, int trials) {
  std::vector<float> a(std::size_t(n) * n, 0.5f), b(std::size_t(n) * n, 0.25f), c(std::size_t(n) * n, 0.0f);
  const int previous_threads = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  double best = 0;
  for (int trial = 0; trial < trials + 1; ++trial) {  // the first call only warms OpenBLAS up
    const auto start = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
                n);
    const double gflops = 2.0 * double(n) * n * n / seconds_since(start) / 1e9;
    if (trial > 0) best = std::max(best, gflops);
  }
  openblas_set_num_threads(previous_threads);
  return best;
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

Peaks measure_peaks(Backend backend, int threads, int ordinal, DType dtype) {
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
  peaks.gemm_gflops = sgemm_gflops(n_threads, kGemmSize, kGemmTrials);
  peaks.gemm_method = fmt::format("OpenBLAS sgemm {}^3 on {} thread(s), best of {}", kGemmSize, n_threads, kGemmTrials);
  if (backend == Backend::sim)
    peaks.note = "sim runs generated CUDA on the host to check it, not for speed: host peaks shown";
  return peaks;
}

}  // namespace dcnjit::profile
