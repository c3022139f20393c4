#include "tools/profile/cuda_peaks.h"

#include <fmt/format.h>

#include <algorithm>

#include "dcnjit/error.h"
#include "runtime/cuda/cuda_device.h"

namespace dcnjit::profile {
namespace {

// Device memory freed on every exit path.
class DeviceAllocation {
 public:
  DeviceAllocation(cuda::CudaDevice& device, std::size_t bytes) : device_(device), pointer_(device.allocate(bytes)) {}
  ~DeviceAllocation() { device_.release(pointer_); }
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;
  void* get() const { return pointer_; }

 private:
  cuda::CudaDevice& device_;
  void* pointer_;
};

template <class Work>
double best_ms(cuda::CudaDevice& device, int trials, Work work) {
  device.time_ms(work);  // warm-up: cuBLASLt heuristics, lazy module loading, clocks ramping up
  double best = 1e300;
  for (int i = 0; i < trials; ++i) best = std::min(best, device.time_ms(work));
  return best;
}

}  // namespace

Peaks measure_cuda_peaks(int ordinal, DType dtype) {
  // The probe launches no generated kernels, so it needs no compiler.
  cuda::KernelCompiler no_compiler = [](const gen::KernelSource&, int) -> cuda::KernelImage {
    throw Error(ErrorCode::Internal, "the peak probe compiles no kernels");
  };
  cuda::CudaDevice device(cuda::driver(), ordinal, no_compiler);
  Peaks peaks;
  peaks.device = fmt::format("{} ({}, {} SMs)", device.info().name, device.info().arch(), device.info().sm_count);

  // Bandwidth: 1 GiB, far beyond any L2. A memset only writes; a device-to-device copy (reads + writes)
  // would need cuMemcpyDtoDAsync, which the driver table does not load.
  constexpr std::size_t kBytes = std::size_t(1) << 30;
  constexpr int kTrials = 5;
  {
    DeviceAllocation buffer(device, kBytes);
    const double ms = best_ms(device, kTrials, [&] { device.fill_zero(buffer.get(), kBytes); });
    peaks.bandwidth_gbps = double(kBytes) / (ms * 1e6);
    peaks.bandwidth_method = fmt::format("device memset of {} MiB (write bytes), CUDA events, best of {}",
                                         kBytes >> 20, kTrials);
  }

  // GEMM: square, large enough for full occupancy on any current GPU.
  constexpr int64_t kSize = 8192;
  const std::size_t matrix_bytes = std::size_t(kSize * kSize) * dtype_size(dtype);
  DeviceAllocation a(device, matrix_bytes), b(device, matrix_bytes), c(device, matrix_bytes);
  device.fill_zero(a.get(), matrix_bytes);  // never time on garbage (NaN paths); zeros are fine for a GEMM's speed
  device.fill_zero(b.get(), matrix_bytes);
  detail::GemmDesc gemm;
  gemm.m = gemm.n = gemm.k = kSize;
  gemm.a = a.get();
  gemm.b = b.get();
  gemm.c = c.get();
  gemm.lda = gemm.ldb = gemm.ldc = kSize;
  gemm.dtype = dtype;
  const double ms = best_ms(device, kTrials, [&] { device.gemm(gemm); });
  peaks.gemm_gflops = 2.0 * double(kSize) * kSize * kSize / (ms * 1e6);
  peaks.gemm_method = fmt::format("cuBLASLt {} GEMM {}^3 (heuristic's first algorithm), CUDA events, best of {}",
                                  to_string(dtype), kSize, kTrials);
  return peaks;
}

}  // namespace dcnjit::profile
