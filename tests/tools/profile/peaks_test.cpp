// The cpu peaks are measured on what the pass runs: the config's GEMM library in the pass's arithmetic
// (not OpenBLAS's sgemm whatever the config says), and the arithmetic ceiling in that arithmetic. The
// values are timings, so only their presence and their provenance are checked here; docs/perf.md has
// the numbers.
#include "tools/profile/peaks.h"

#include <gtest/gtest.h>

#include <string>

#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/cpu_knobs.h"

namespace dcnjit::profile {
namespace {

void expect_measured_with(const Peaks& peaks, const std::string& gemm, const std::string& ceiling) {
  EXPECT_GT(peaks.gemm_gflops, 0) << peaks.note;
  EXPECT_EQ(peaks.gemm_method.rfind(gemm, 0), 0u) << peaks.gemm_method;
  EXPECT_GT(peaks.bandwidth_gbps, 0);
  if (!__builtin_cpu_supports("fma")) GTEST_SKIP() << "no x86 FMA: the ceiling is not measured here";
  EXPECT_GT(peaks.ceiling_gflops, 0);
  EXPECT_NE(peaks.ceiling_method.find(ceiling), std::string::npos) << peaks.ceiling_method;
}

// The pass's config, resolved as the profiler hands it over.
Config resolved(DType dtype, const std::string& config) {
  Problem problem = Problem::parse("N1 C64 H8 W8 Co64 k3 p1");
  problem.dtype = dtype;
  return cpu::cpu_knobs().resolve(problem, Config::parse(config));
}

TEST(CpuPeaks, F32IsMeasuredOnTheConfigsGemmLibrary) {
  expect_measured_with(measure_peaks(Backend::cpu, resolved(DType::f32, ""), 1, 0, DType::f32),
                       "oneDNN f32 matmul 1024^3", "f32 ");
  expect_measured_with(measure_peaks(Backend::cpu, resolved(DType::f32, "gemm=openblas"), 1, 0, DType::f32),
                       "OpenBLAS sgemm 1024^3", "f32 ");
}

TEST(CpuPeaks, F64IsMeasuredOnOpenBlasDgemmAndF64Fmas) {
  expect_measured_with(measure_peaks(Backend::cpu, resolved(DType::f64, ""), 1, 0, DType::f64),
                       "OpenBLAS dgemm 1024^3", "f64 ");
}

TEST(CpuPeaks, Bf16IsMeasuredOnTheBf16GemmWhereTheCpuHasIt) {
  const Peaks peaks = measure_peaks(Backend::cpu, resolved(DType::bf16, ""), 1, 0, DType::bf16);
  if (cpu::cpu_has_native_bf16())
    expect_measured_with(peaks, "oneDNN bf16 matmul (f32 accumulation) 1024^3", "vdpbf16ps");
  else
    expect_measured_with(peaks, "oneDNN f32 matmul 1024^3", "f32 ");  // bf16 runs in f32 there
}

TEST(SimPeaks, AreTheHostsWithOpenBlasSgemmAndNoCeiling) {
  const Peaks peaks = measure_peaks(Backend::sim, Config{}, 1);
  EXPECT_EQ(peaks.gemm_method.rfind("OpenBLAS sgemm", 0), 0u) << peaks.gemm_method;
  EXPECT_EQ(peaks.ceiling_gflops, 0) << "the sim does not run at the host's arithmetic speed";
  EXPECT_FALSE(peaks.note.empty());
}

}  // namespace
}  // namespace dcnjit::profile
