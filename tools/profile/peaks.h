// Measured peaks of the machine a pass runs on: the yardsticks the profiler holds each phase's
// GB/s and GFLOP/s against. Measured, not taken from a datasheet, because on a shared or
// throttled machine the datasheet is not what a kernel can reach.
#pragma once

#include <string>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"

namespace dcnjit::profile {

struct Peaks {
  std::string device;            // "AMD EPYC, 2 threads"
  double bandwidth_gbps = 0;     // 0 = not measured (see note)
  std::string bandwidth_method;  // how it was measured, for the report
  double gemm_gflops = 0;        // 0 = not measured (see note)
  std::string gemm_method;
  std::string note;              // why a peak is missing, if one is
};

// cpu and sim (which runs on the host): a multithreaded memcpy loop and OpenBLAS sgemm with
// `threads` threads (0 = all cores). cuda: device `ordinal`'s memset bandwidth and cuBLASLt GEMM in
// `dtype` (cuda_peaks.h); when that fails the peaks stay 0 and the note says why. Never throws.
Peaks measure_peaks(Backend backend, int threads, int ordinal = 0, DType dtype = DType::f32);

// CPU model name from /proc/cpuinfo ("unknown CPU" when unreadable).
std::string cpu_model();

}  // namespace dcnjit::profile
