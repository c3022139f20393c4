// Device properties and the primary context (see device_context.h).
#include "runtime/cuda/device_context.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit::cuda {

DeviceInfo query_device(const DriverApi& api, int ordinal) {
  int count = 0;
  DCNJIT_CU(api, cuDeviceGetCount(&count));
  if (count == 0) throw Error(ErrorCode::NoDevice, "no CUDA device (the driver is installed but reports no GPU)");
  if (ordinal < 0 || ordinal >= count)
    throw Error(ErrorCode::NoDevice,
                fmt::format("device: CUDA device {} requested but {} visible (ordinals 0..{})", ordinal, count, count - 1));

  CUdevice device = 0;
  DCNJIT_CU(api, cuDeviceGet(&device, ordinal));
  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  DCNJIT_CU(api, cuDeviceGetName(name, int(sizeof(name)) - 1, device));
  info.name = name;

  auto attribute = [&](CUdevice_attribute which) {
    int value = 0;
    api.check(api.cuDeviceGetAttribute(&value, which, device), "cuDeviceGetAttribute");
    return value;
  };
  info.cc_major = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  info.cc_minor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  info.sm_count = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  info.l2_bytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
  info.max_grid_x = unsigned(attribute(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X));
  info.max_shared_per_block_optin = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  std::size_t total = 0;
  DCNJIT_CU(api, cuDeviceTotalMem(&total, device));
  info.total_memory_bytes = int64_t(total);
  info.driver_version = api.driver_version();
  return info;
}

PrimaryContext::PrimaryContext(const DriverApi& api, int ordinal) : api_(api) {
  DCNJIT_CU(api_, cuDeviceGet(&device_, ordinal));
  DCNJIT_CU(api_, cuDevicePrimaryCtxRetain(&context_, device_));
}

PrimaryContext::~PrimaryContext() {
  // Errors cannot be reported from a destructor; a failing release at exit (driver shut down) is harmless.
  if (context_) api_.cuDevicePrimaryCtxRelease(device_);
}

ContextScope::ContextScope(const DriverApi& api, CUcontext context) : api_(api) {
  DCNJIT_CU(api_, cuCtxPushCurrent(context));
}

ContextScope::~ContextScope() {
  CUcontext popped = nullptr;
  api_.cuCtxPopCurrent(&popped);
}

}  // namespace dcnjit::cuda
