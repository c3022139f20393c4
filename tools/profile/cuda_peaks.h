// Measured peaks of a CUDA device: write bandwidth (a large device memset) and cuBLASLt GEMM
// throughput in the problem's dtype, timed with CUDA events through the cuda backend's own
// CudaDevice, so the yardstick is what dcnjit's kernels and GEMMs can reach on that device.
#pragma once

#include "dcnjit/problem.h"
#include "tools/profile/peaks.h"

namespace dcnjit::profile {

// Throws Error(NoDevice) without a driver or device; other failures are Error(LaunchError).
Peaks measure_cuda_peaks(int ordinal, DType dtype);

}  // namespace dcnjit::profile
