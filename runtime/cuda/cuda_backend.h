// The cuda backend (make_cuda_backend in runtime/backend.h), plus access to its CudaDevice for the
// code that drives a backend directly: the tuner and `dcnjit profile` time with CUDA events
// (CudaDevice::time_ms) and ask cuBLASLt how many GEMM algorithms a shape has.
#pragma once

#include "runtime/backend.h"
#include "runtime/cuda/cuda_device.h"

namespace dcnjit::cuda {

// The device behind a backend made by make_cuda_backend(); null for any other backend.
CudaDevice* cuda_device_of(detail::BackendImpl& backend);

}  // namespace dcnjit::cuda
