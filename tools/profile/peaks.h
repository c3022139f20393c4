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
  double ceiling_gflops = 0;     // cpu: the core's arithmetic ceiling (arithmetic_ceiling.h); 0 = not measured
  std::string ceiling_method;
  std::string note;              // why a peak is missing, if one is
};

// With `threads` threads (0 = all cores):
//   cpu   a multithreaded memcpy loop; the GEMM the pass calls (`config`, resolved: its library, in the pass's
//         arithmetic: oneDNN f32 or bf16, OpenBLAS f32 or f64), one single-threaded 1024^3 GEMM per
//         thread as the backend runs them; and the arithmetic ceiling in that arithmetic.
//   sim   (runs on the host) memcpy and OpenBLAS sgemm, the sim's GEMM.
//   cuda  device `ordinal`'s memset bandwidth and cuBLASLt GEMM in `dtype` (cuda_peaks.h).
// A peak that cannot be measured stays 0 and the note says why. Never throws.
Peaks measure_peaks(Backend backend, const Config& config, int threads, int ordinal = 0, DType dtype = DType::f32);

// CPU model name from /proc/cpuinfo ("unknown CPU" when unreadable).
std::string cpu_model();

}  // namespace dcnjit::profile
