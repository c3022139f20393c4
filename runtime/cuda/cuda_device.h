// CudaDevice: detail::KernelDevice on a real GPU. Memory through cuMemAlloc, generated kernels through
// NVRTC (via an injected compiler, normally gen's NVRTC compiler behind the binary cache) and
// cuModuleLoadData, launches through cuLaunchKernel, GEMMs through cuBLASLt. Everything runs in the
// device's primary context, made current only for the duration of each call, on the stream set with
// set_stream() (the legacy default stream until then). Work on different streams is ordered with an
// event (stream_order.h): the streams share the device's scratch. The first error is the one reported
// (device_errors.h): after a kernel fault every call throws Error(DeviceLost) quoting it, and releases
// never throw.
//
// One CudaDevice serves one Engine; like the Engine it is meant to be used from one thread at a time
// (load() alone is guarded, because the tuner may compile from helper threads).
#pragma once

#include <cuda.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/cuda/cublaslt_gemm.h"
#include "runtime/cuda/device_context.h"
#include "runtime/cuda/device_errors.h"
#include "runtime/cuda/driver_api.h"
#include "runtime/cuda/stream_order.h"
#include "algorithms/kernel_device.h"

namespace dcnjit::cuda {

// A compiled kernel ready for cuModuleLoadData.
struct KernelImage {
  std::string data;          // cubin bytes, or NUL-free PTX text
  bool is_cubin = true;      // false: PTX, JIT-compiled by the driver at load
  std::string lowered_name;  // the symbol to look up (the entry's name for extern "C" kernels)
  // What ptxas reported (cubin builds): registers per thread, spilled bytes, static shared memory.
  bool resources_known = false;
  int registers = 0, spill_bytes = 0, static_shared_bytes = 0;
};

// Compiles `kernel` for the device architecture `arch` (e.g. 90 for sm_90): cubin when NVRTC
// supports that arch, PTX otherwise. Throws Error(CompileError) with the log on failure.
using KernelCompiler = std::function<KernelImage(const gen::KernelSource& kernel, int arch)>;

class CudaDevice final : public detail::KernelDevice {
 public:
  // Throws Error(NoDevice) when the driver or device `ordinal` is missing.
  CudaDevice(const DriverApi& api, int ordinal, KernelCompiler compiler);
  ~CudaDevice() override;

  void* allocate(std::size_t bytes) override;  // not zero-filled
  // Waits for the last work that may use `pointer` (any stream), then frees it; a failure is kept for
  // the next call (device_errors.h), never thrown.
  void release(void* pointer) noexcept override;
  void fill_zero(void* pointer, std::size_t bytes) override;

  detail::LoadedKernel* load(const gen::KernelSource& kernel) override;
  void launch(detail::LoadedKernel* kernel, const detail::LaunchDims& dims, const void* params,
              std::size_t params_bytes) override;
  // Bias, if any, goes in through a rank-1 GEMM first (see cublaslt_gemm.h).
  void gemm(const detail::GemmDesc& desc) override;
  int gemm_candidate_count(const detail::GemmDesc& desc);

  const detail::DeviceTraits& traits() const override { return traits_; }
  void synchronize() override;
  // Compiles (or finds in the binary cache) the kernel and checks what ptxas made of it: no spills,
  // registers and shared memory of one block within one SM.
  std::string resource_problem(const gen::KernelSpec& spec) override;
  void set_stream(void* stream) override { stream_ = static_cast<CUstream>(stream); }
  CUstream stream() const { return stream_; }

  // Around one pass on `stream`: makes it the current stream, ordered after the last work on any other
  // stream, and afterwards records the pass's end and returns to the default stream. end_stream_work
  // runs in a destructor: it keeps a failure for the next call instead of throwing.
  void begin_stream_work(CUstream stream);
  void end_stream_work() noexcept;

  // Host <-> device copies on `stream` (the caller's, ordered after dcnjit's last work on any stream);
  // they return when the copy is complete.
  void copy_to_device(void* device, const void* host, std::size_t bytes, CUstream stream = nullptr);
  void copy_to_host(void* host, const void* device, std::size_t bytes, CUstream stream = nullptr);

  // Milliseconds of device time for what `work` enqueues on the current stream.
  double time_ms(const std::function<void()>& work);

  const DeviceInfo& info() const { return info_; }
  const DriverApi& api() const { return api_; }
  CUcontext context() const { return context_.get(); }

  // cuBLASLt's scratch: 32 MiB, what NVIDIA recommends for Hopper (smaller archs need less).
  static constexpr std::size_t kGemmWorkspaceBytes = std::size_t(32) << 20;

 private:
  class Kernel;
  class EventOps;

  const void* ones(DType dtype, int64_t count);  // a device vector of at least `count` ones
  // Throws Error(LaunchError, or DeviceLost for a sticky error) naming `call` unless `result` is success.
  void check(CUresult result, const char* call);

  const DriverApi& api_;
  DeviceInfo info_;
  detail::DeviceTraits traits_;
  PrimaryContext context_;
  KernelCompiler compiler_;
  CUstream stream_ = nullptr;
  DeviceErrors errors_;
  std::unique_ptr<EventOps> event_ops_;
  std::unique_ptr<StreamOrder> order_;

  std::mutex kernels_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Kernel>> kernels_;  // key: name + source

  std::unique_ptr<CublasLtGemm> gemm_;  // created on first use
  void* gemm_workspace_ = nullptr;
  std::array<void*, 3> ones_{};         // per DType
  std::array<int64_t, 3> ones_count_{};
};

}  // namespace dcnjit::cuda
