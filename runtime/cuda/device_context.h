// A CUDA device as dcnjit uses it: its properties and its PRIMARY context. The primary context is the
// one the CUDA runtime uses, so memory, streams and events are shared with CUDA-runtime programs in the
// same process (PyTorch tensors and streams can be passed straight in).
#pragma once

#include <cuda.h>

#include <cstdint>
#include <string>

#include "runtime/cuda/driver_api.h"

namespace dcnjit::cuda {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;             // "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int driver_version = 0;       // e.g. 13000
  int64_t l2_bytes = 0;
  int64_t total_memory_bytes = 0;
  unsigned max_grid_x = 0;
  int max_shared_per_block_optin = 0;  // dynamic shared memory a kernel may opt in to

  std::string arch() const { return "sm_" + std::to_string(cc_major * 10 + cc_minor); }  // "sm_90"
  int arch_number() const { return cc_major * 10 + cc_minor; }                           // 90
};

// Throws Error(NoDevice) when there is no device `ordinal` ("no CUDA device" when none is visible).
DeviceInfo query_device(const DriverApi& api, int ordinal);

// Retains the device's primary context for its lifetime (cuDevicePrimaryCtxRetain/Release).
class PrimaryContext {
 public:
  PrimaryContext(const DriverApi& api, int ordinal);
  ~PrimaryContext();
  PrimaryContext(const PrimaryContext&) = delete;
  PrimaryContext& operator=(const PrimaryContext&) = delete;

  CUcontext get() const { return context_; }
  CUdevice device() const { return device_; }

 private:
  const DriverApi& api_;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
};

// Makes `context` current on this thread for the scope and restores the caller's context afterwards,
// so dcnjit never changes which context a host application (or PyTorch) has current.
class ContextScope {
 public:
  ContextScope(const DriverApi& api, CUcontext context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  const DriverApi& api_;
};

}  // namespace dcnjit::cuda
