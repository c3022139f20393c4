#include "tools/profile/arithmetic_ceiling.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace dcnjit::profile {
namespace {

// Independent accumulators per thread: enough to cover an FMA's latency on both pipes of a core (4
// cycles x 2 pipes on Zen 4/5 and recent Intel cores need 8; 12 leaves room) without spilling (16 or
// 32 vector registers).
constexpr int kChains = 12;
constexpr int64_t kIterations = int64_t(1) << 24;  // ~25 ms of f32 AVX-512 FMAs on a 4 GHz Zen 5 core
constexpr int kTrials = 3;
volatile float g_sink = 0;

struct Kernel {
  const char* name;                 // "f32 AVX-512 FMA"
  double flops_per_iteration;       // kChains x lanes x 2
  float (*run)(int64_t iterations);  // returns a value that depends on every chain, so none is elided
};

#if defined(__x86_64__)
// The sum of every lane of the chains (read through memory: no vector instruction outside the kernels'
// targets).
template <typename Lane, typename Vector>
float sum_of_lanes(const Vector (&chains)[kChains]) {
  double sum = 0;
  for (const Vector& chain : chains) {
    Lane lanes[sizeof(Vector) / sizeof(Lane)];
    std::memcpy(lanes, &chain, sizeof(Vector));
    for (Lane lane : lanes) sum += double(lane);
  }
  return float(sum);
}

// Each chain is v = v * a + b with |a| < 1: it converges to b / (1 - a), never overflows or denormalizes.
__attribute__((target("avx512f"))) float f32_avx512(int64_t iterations) {
  __m512 v[kChains];
  const __m512 a = _mm512_set1_ps(0.5f), b = _mm512_set1_ps(1.0f);
  for (int c = 0; c < kChains; ++c) v[c] = _mm512_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) v[c] = _mm512_fmadd_ps(v[c], a, b);
  }
  return sum_of_lanes<float>(v);
}

__attribute__((target("avx512f"))) float f64_avx512(int64_t iterations) {
  __m512d v[kChains];
  const __m512d a = _mm512_set1_pd(0.5), b = _mm512_set1_pd(1.0);
  for (int c = 0; c < kChains; ++c) v[c] = _mm512_set1_pd(double(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) v[c] = _mm512_fmadd_pd(v[c], a, b);
  }
  return sum_of_lanes<double>(v);
}

// vdpbf16ps: per f32 lane, two bf16 products added to the accumulator (4 FLOPs). Here each step adds
// 0.5 * 1 + 0.5 * 1, so a chain counts up to 2^24 at most: finite, and no denormals.
__attribute__((target("avx512f,avx512bf16"))) float bf16_avx512(int64_t iterations) {
  __m512 v[kChains];
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f));
  for (int c = 0; c < kChains; ++c) v[c] = _mm512_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) v[c] = _mm512_dpbf16_ps(v[c], a, b);
  }
  return sum_of_lanes<float>(v);
}

__attribute__((target("avx2,fma"))) float f32_avx2(int64_t iterations) {
  __m256 v[kChains];
  const __m256 a = _mm256_set1_ps(0.5f), b = _mm256_set1_ps(1.0f);
  for (int c = 0; c < kChains; ++c) v[c] = _mm256_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) v[c] = _mm256_fmadd_ps(v[c], a, b);
  }
  return sum_of_lanes<float>(v);
}

__attribute__((target("avx2,fma"))) float f64_avx2(int64_t iterations) {
  __m256d v[kChains];
  const __m256d a = _mm256_set1_pd(0.5), b = _mm256_set1_pd(1.0);
  for (int c = 0; c < kChains; ++c) v[c] = _mm256_set1_pd(double(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) v[c] = _mm256_fmadd_pd(v[c], a, b);
  }
  return sum_of_lanes<double>(v);
}

const Kernel* kernel_for(cpu::GemmPath path) {
  static const Kernel f32_512{"f32 AVX-512 FMA", kChains * 16 * 2.0, f32_avx512};
  static const Kernel f64_512{"f64 AVX-512 FMA", kChains * 8 * 2.0, f64_avx512};
  static const Kernel bf16_512{"bf16 AVX512-BF16 dot product (vdpbf16ps)", kChains * 16 * 4.0, bf16_avx512};
  static const Kernel f32_256{"f32 AVX2 FMA", kChains * 8 * 2.0, f32_avx2};
  static const Kernel f64_256{"f64 AVX2 FMA", kChains * 4 * 2.0, f64_avx2};
  const bool avx512 = __builtin_cpu_supports("avx512f");
  switch (path) {
    case cpu::GemmPath::bf16: return &bf16_512;  // only chosen where the CPU has AVX512-BF16
    case cpu::GemmPath::f64:
      return avx512 ? &f64_512 : __builtin_cpu_supports("fma") ? &f64_256 : nullptr;
    case cpu::GemmPath::f32: break;
  }
  return avx512 ? &f32_512 : __builtin_cpu_supports("fma") ? &f32_256 : nullptr;
}
#else
const Kernel* kernel_for(cpu::GemmPath) { return nullptr; }
#endif

}  // namespace

Ceiling arithmetic_ceiling(cpu::GemmPath path, int threads) {
  Ceiling ceiling;
  const Kernel* kernel = kernel_for(path);
  if (!kernel) return ceiling;
  threads = std::max(1, threads);
  std::vector<float> results(std::size_t(threads), 0.0f);
  for (int trial = 0; trial < kTrials; ++trial) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t)
      workers.emplace_back([&, t] { results[std::size_t(t)] += kernel->run(kIterations); });
    results[0] += kernel->run(kIterations);
    for (auto& w : workers) w.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double flops = threads * kernel->flops_per_iteration * double(kIterations);
    ceiling.gflops = std::max(ceiling.gflops, flops / seconds / 1e9);
  }
  for (float r : results) g_sink = g_sink + r;  // the chains' results are used: none can be optimized away
  ceiling.method = fmt::format("{} chains in registers on {} thread(s), best of {}", kernel->name, threads, kTrials);
  return ceiling;
}

}  // namespace dcnjit::profile
