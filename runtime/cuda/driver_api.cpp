// Loading libcuda with dlopen and resolving the driver table (see driver_api.h).
#include "runtime/cuda/driver_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "dcnjit/error.h"

namespace dcnjit::cuda {

namespace {

// Two-level stringification: expands cuda.h's versioning macros first, so
// DCNJIT_VERSIONED_SYMBOL(cuGetProcAddress) is "cuGetProcAddress_v2", the symbol the header declares.
#define DCNJIT_STRINGIFY(x) #x
#define DCNJIT_VERSIONED_SYMBOL(x) DCNJIT_STRINGIFY(x)

Error no_device(const std::string& library, const std::string& why) {
  return Error(ErrorCode::NoDevice, fmt::format("no CUDA driver/GPU usable ({}): {}", library, why));
}

template <typename Function>
void resolve_with_dlsym(void* handle, const std::string& library, const char* symbol, Function& target) {
  dlerror();  // clear any earlier error so the one we read below belongs to this lookup
  void* address = dlsym(handle, symbol);
  if (!address) {
    const char* reason = dlerror();
    throw no_device(library, fmt::format("{} does not export {} ({}): not a CUDA driver library", library, symbol,
                                         reason ? reason : "symbol not found"));
  }
  target = reinterpret_cast<Function>(address);
}

}  // namespace

std::string format_cuda_version(int version) { return fmt::format("{}.{}", version / 1000, (version % 1000) / 10); }

DriverApi::DriverApi(const std::string& library) : library_(library) {
  try {
    load();
  } catch (...) {
    // Unload what did not turn out to be a usable driver: the toolkit's stub has the driver's soname
    // (libcuda.so.1), and while it stays loaded every later dlopen("libcuda.so.1") would return it.
    if (handle_) dlclose(handle_);
    handle_ = nullptr;
    throw;
  }
}

void DriverApi::load() {
  // RTLD_LOCAL: the driver's symbols must not leak into the global namespace of the host process
  // (a CUDA-runtime program may load its own copy of the same library).
  handle_ = dlopen(library_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* reason = dlerror();
    throw Error(ErrorCode::NoDevice,
                fmt::format("no CUDA driver ({} not found): {}; install the NVIDIA driver, or use the cpu or sim backend",
                            library_, reason ? reason : "dlopen failed"));
  }

  resolve_with_dlsym(handle_, library_, "cuInit", cuInit);
  resolve_with_dlsym(handle_, library_, "cuGetErrorName", cuGetErrorName);
  resolve_with_dlsym(handle_, library_, "cuGetErrorString", cuGetErrorString);

  const CUresult init = cuInit(0);
  if (init == CUDA_ERROR_STUB_LIBRARY)
    throw no_device(library_, "it is the CUDA toolkit's stub libcuda (for linking only), not an installed driver");
  if (init == CUDA_ERROR_NO_DEVICE) throw no_device(library_, "no CUDA device (cuInit reports none visible)");
  if (init != CUDA_SUCCESS) throw no_device(library_, fmt::format("cuInit(0) failed: {}", describe(init)));

  // cuGetProcAddress_v2 exists from CUDA 12.0 drivers on; older drivers cannot run CUDA 13 binaries anyway.
  resolve_with_dlsym(handle_, library_, DCNJIT_VERSIONED_SYMBOL(cuGetProcAddress), cuGetProcAddress);

  // Each entry point in the version the headers (CUDA_VERSION) declare; legacy default-stream variants,
  // as the headers give without --default-stream per-thread.
  auto resolve = [&](const char* symbol, auto& target) {
    void* address = nullptr;
    CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    const CUresult result =
        cuGetProcAddress(symbol, &address, CUDA_VERSION, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status);
    if (result != CUDA_SUCCESS || status != CU_GET_PROC_ADDRESS_SUCCESS || !address) {
      int version = 0;
      if (cuDriverGetVersion) cuDriverGetVersion(&version);
      throw no_device(library_,
                      fmt::format("the driver (CUDA {}) has no {} as of CUDA {}{}: update the NVIDIA driver",
                                  version ? format_cuda_version(version) : "?", symbol,
                                  format_cuda_version(CUDA_VERSION),
                                  status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ? " (driver too old)" : ""));
    }
    target = reinterpret_cast<std::remove_reference_t<decltype(target)>>(address);
  };
#define DCNJIT_RESOLVE_DRIVER_ENTRY(name) resolve(#name, name);
  DCNJIT_CUDA_DRIVER_FUNCTIONS(DCNJIT_RESOLVE_DRIVER_ENTRY)
#undef DCNJIT_RESOLVE_DRIVER_ENTRY

  check(cuDriverGetVersion(&driver_version_), "cuDriverGetVersion(&version)");
}

std::string DriverApi::describe(CUresult result) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (cuGetErrorName) cuGetErrorName(result, &name);
  if (cuGetErrorString) cuGetErrorString(result, &text);
  return fmt::format("{} ({})", name ? name : fmt::format("CUresult {}", int(result)), text ? text : "no description");
}

bool is_sticky(CUresult result) {
  switch (result) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED:
    case CUDA_ERROR_DEINITIALIZED:
      return true;
    default:
      return false;
  }
}

ErrorCode error_code_for(CUresult result) { return is_sticky(result) ? ErrorCode::DeviceLost : ErrorCode::LaunchError; }

void DriverApi::check(CUresult result, const char* call) const {
  if (result == CUDA_SUCCESS) return;
  throw Error(error_code_for(result), fmt::format("{} failed: {}", call, describe(result)));
}

const DriverApi& driver() {
  // Loaded once; the failure message is kept so later calls report the same reason cheaply. The
  // DriverApi is deliberately never destroyed (see ~DriverApi).
  static std::once_flag once;
  static const DriverApi* loaded = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    try {
      loaded = new DriverApi(kDriverLibrary);
    } catch (const Error& e) {
      failure = e.what();
    }
  });
  if (!loaded) throw Error(ErrorCode::NoDevice, failure);
  return *loaded;
}

}  // namespace dcnjit::cuda
