// The CUDA Driver API, loaded at run time. libcuda is never linked: dcnjit (library and CLI) must
// start on a machine without a driver and say clearly that no GPU is there (docs/architecture.md).
// The table below is filled through cuGetProcAddress for the CUDA version of the headers we were
// compiled against, so every call has exactly the ABI that cuda.h declares.
#pragma once

#include <cuda.h>

#include <string>

#include "dcnjit/error.h"

namespace dcnjit::cuda {

// The driver library the process-wide loader opens (the soname the NVIDIA driver installs).
inline constexpr const char* kDriverLibrary = "libcuda.so.1";

// Every driver function dcnjit calls. The member names are the plain cuda.h names; cuda.h maps some of
// them to versioned symbols (cuMemAlloc -> cuMemAlloc_v2), and that mapping applies to the member's
// name and type alike, so `api.cuMemAlloc(...)` always calls the entry point the headers describe.
// cuGetProcAddress_v2 and the four functions needed before it (error texts, cuInit) come from dlsym.
#define DCNJIT_CUDA_DRIVER_FUNCTIONS(X)                                                              \
  X(cuDriverGetVersion)                                                                               \
  X(cuDeviceGetCount)                                                                                 \
  X(cuDeviceGet)                                                                                      \
  X(cuDeviceGetName)                                                                                  \
  X(cuDeviceGetAttribute)                                                                             \
  X(cuDeviceTotalMem)                                                                                 \
  X(cuDevicePrimaryCtxRetain)                                                                         \
  X(cuDevicePrimaryCtxRelease)                                                                        \
  X(cuCtxPushCurrent)                                                                                 \
  X(cuCtxPopCurrent)                                                                                  \
  X(cuMemAlloc)                                                                                       \
  X(cuMemFree)                                                                                        \
  X(cuMemsetD8Async)                                                                                  \
  X(cuMemsetD16Async)                                                                                 \
  X(cuMemsetD32Async)                                                                                 \
  X(cuMemcpyHtoDAsync)                                                                                \
  X(cuMemcpyDtoHAsync)                                                                                \
  X(cuStreamSynchronize)                                                                              \
  X(cuStreamWaitEvent)                                                                                \
  X(cuModuleLoadData)                                                                                 \
  X(cuModuleUnload)                                                                                   \
  X(cuModuleGetFunction)                                                                              \
  X(cuFuncSetAttribute)                                                                               \
  X(cuFuncGetParamInfo)                                                                               \
  X(cuLaunchKernel)                                                                                   \
  X(cuEventCreate)                                                                                    \
  X(cuEventDestroy)                                                                                   \
  X(cuEventRecord)                                                                                    \
  X(cuEventSynchronize)                                                                               \
  X(cuEventElapsedTime)

class DriverApi {
 public:
  // Opens `library` with dlopen, calls cuInit(0) and resolves the table. Throws Error(NoDevice) with a
  // message that says which step failed: library not found, the toolkit's stub library instead of a
  // driver, cuInit failing (no device, driver/kernel-module mismatch), or a driver too old for the
  // CUDA headers dcnjit was built with. Never crashes, whatever the library turns out to be.
  explicit DriverApi(const std::string& library = kDriverLibrary);
  // The library stays loaded: unloading a driver while other code in the process (cuBLASLt, PyTorch)
  // may still hold pointers into it is not safe.
  ~DriverApi() = default;
  DriverApi(const DriverApi&) = delete;
  DriverApi& operator=(const DriverApi&) = delete;

  // Throws Error(LaunchError, or DeviceLost for a sticky error) naming `call` and the driver's name and
  // text for `result` (e.g. "cuMemAlloc(&ptr, bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)")
  // unless it is success.
  void check(CUresult result, const char* call) const;
  // "CUDA_ERROR_OUT_OF_MEMORY (out of memory)"; usable before the table is complete.
  std::string describe(CUresult result) const;

  int driver_version() const { return driver_version_; }  // e.g. 13000 for CUDA 13.0
  const std::string& library() const { return library_; }

#define DCNJIT_DECLARE_DRIVER_ENTRY(name) decltype(&::name) name = nullptr;
  DCNJIT_DECLARE_DRIVER_ENTRY(cuInit)
  DCNJIT_DECLARE_DRIVER_ENTRY(cuGetErrorName)
  DCNJIT_DECLARE_DRIVER_ENTRY(cuGetErrorString)
  DCNJIT_DECLARE_DRIVER_ENTRY(cuGetProcAddress)
  DCNJIT_CUDA_DRIVER_FUNCTIONS(DCNJIT_DECLARE_DRIVER_ENTRY)
#undef DCNJIT_DECLARE_DRIVER_ENTRY

 private:
  void load();

  std::string library_;
  void* handle_ = nullptr;
  int driver_version_ = 0;
};

// The process-wide driver, loaded from kDriverLibrary on first use. A failed load is remembered and
// the same Error(NoDevice) is thrown on every later call (no repeated dlopen attempts).
const DriverApi& driver();

// True for the errors after which the context is unusable (CUDA's "sticky" errors: a kernel's illegal
// address, trap or assert, a launch timeout, an uncorrectable ECC error) or gone (destroyed, driver shut
// down). Every later call in that context fails; only a new process recovers.
bool is_sticky(CUresult result);
// DeviceLost for sticky errors, LaunchError for the rest.
ErrorCode error_code_for(CUresult result);

// "13.0" from 13000.
std::string format_cuda_version(int version);

}  // namespace dcnjit::cuda

// Calls a driver function through `api` and checks its result; the error message quotes the call as
// written, e.g. DCNJIT_CU(api, cuMemAlloc(&ptr, bytes)).
#define DCNJIT_CU(api, call) (api).check((api).call, #call)
