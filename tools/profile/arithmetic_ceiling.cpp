#include "tools/profile/arithmetic_ceiling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "tools/profile/best_rate.h"

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
  double flops_per_iteration;       // kChains x lanes x FLOPs per lane and step
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

// One kernel: kChains chains v = `step` (an expression of v) from v = `start` (an expression of the
// chain's index c), compiled for `isa`, with the FLOPs a step does per lane. A macro rather than a
// template: the intrinsics inline only into a function that carries their target, and a template's
// one generic body cannot carry five.
#define DCNJIT_CHAINS_KERNEL(name, label, isa, Vector, Lane, flops_per_lane, start, step)  \
  __attribute__((target(isa))) float name##_run(int64_t iterations) {                    \
    Vector chains[kChains];                                                              \
    for (int c = 0; c < kChains; ++c) chains[c] = start;                                 \
    for (int64_t i = 0; i < iterations; ++i) {                                           \
      _Pragma("GCC unroll 12") for (Vector & v : chains) v = step;                       \
    }                                                                                    \
    return sum_of_lanes<Lane>(chains);                                                   \
  }                                                                                      \
  const Kernel name{label, kChains * double(sizeof(Vector) / sizeof(Lane)) * (flops_per_lane), name##_run};

// The FMA chains are v = v * 0.5 + 1: each converges to 2, never overflows or denormalizes.
DCNJIT_CHAINS_KERNEL(f32_avx512, "f32 AVX-512 FMA", "avx512f", __m512, float, 2, _mm512_set1_ps(float(c)),
                     _mm512_fmadd_ps(v, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)))
DCNJIT_CHAINS_KERNEL(f64_avx512, "f64 AVX-512 FMA", "avx512f", __m512d, double, 2, _mm512_set1_pd(double(c)),
                     _mm512_fmadd_pd(v, _mm512_set1_pd(0.5), _mm512_set1_pd(1.0)))
DCNJIT_CHAINS_KERNEL(f32_avx2, "f32 AVX2 FMA", "avx2,fma", __m256, float, 2, _mm256_set1_ps(float(c)),
                     _mm256_fmadd_ps(v, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)))
DCNJIT_CHAINS_KERNEL(f64_avx2, "f64 AVX2 FMA", "avx2,fma", __m256d, double, 2, _mm256_set1_pd(double(c)),
                     _mm256_fmadd_pd(v, _mm256_set1_pd(0.5), _mm256_set1_pd(1.0)))
// vdpbf16ps: per f32 lane, two bf16 products added to the accumulator (4 FLOPs). Here each step adds
// 0.5 * 1 + 0.5 * 1, so a chain counts up to 2^24 at most: finite, and no denormals.
DCNJIT_CHAINS_KERNEL(bf16_avx512, "bf16 AVX512-BF16 dot product (vdpbf16ps)", "avx512f,avx512bf16", __m512, float,
                     4, _mm512_set1_ps(float(c)),
                     _mm512_dpbf16_ps(v, _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f)),
                                      _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f))))
#undef DCNJIT_CHAINS_KERNEL

const Kernel* kernel_for(cpu::GemmPath path) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  switch (path) {
    case cpu::GemmPath::bf16: return &bf16_avx512;  // only chosen where the CPU has AVX512-BF16
    case cpu::GemmPath::f64:
      return avx512 ? &f64_avx512 : __builtin_cpu_supports("fma") ? &f64_avx2 : nullptr;
    case cpu::GemmPath::f32: break;
  }
  return avx512 ? &f32_avx512 : __builtin_cpu_supports("fma") ? &f32_avx2 : nullptr;
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
  ceiling.gflops = best_rate(threads, 0, kTrials, threads * kernel->flops_per_iteration * double(kIterations),
                             [&](int t) { results[std::size_t(t)] += kernel->run(kIterations); });
  for (float r : results) g_sink = g_sink + r;  // the chains' results are used: none can be optimized away
  ceiling.method = fmt::format("{} chains in registers on {} thread(s), best of {}", kernel->name, threads, kTrials);
  return ceiling;
}

}  // namespace dcnjit::profile
