// The cuda backend: the registered algorithms (runtime/kernel_backend.h) over a CudaDevice whose
// kernels come from NVRTC through the binary cache, with the Engine's tensors in GPU memory
// (allocate/copy overrides) so DeviceBuffer and `dcnjit run --backend cuda` work end to end.
//
// Concurrency: an Engine shares one backend among its plans; each pass takes a mutex, as on cpu/sim.
#include "runtime/cuda/cuda_backend.h"

#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "generator/version.h"
#include "runtime/binary_cache.h"
#include "runtime/cuda/cublaslt_gemm.h"
#include "runtime/cuda/driver_api.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "runtime/kernel_backend.h"

namespace dcnjit::cuda {
namespace {

// NVRTC behind the binary cache: a kernel compiled once (by this or an earlier process) is loaded
// without calling NVRTC again.
KernelCompiler cached_nvrtc_compiler(std::shared_ptr<detail::BinaryCache> cache) {
  return [cache = std::move(cache)](const gen::KernelSource& kernel, int arch) {
    nvrtc::CompiledKernel compiled = nvrtc::compile(kernel, arch, *cache);
    KernelImage image{std::move(compiled.binary), compiled.format == detail::BinaryFormat::cubin,
                      std::move(compiled.entry)};
    image.resources_known = compiled.resources.known;
    image.registers = compiled.resources.registers;
    image.spill_bytes = compiled.resources.spill_stores + compiled.resources.spill_loads;
    image.static_shared_bytes = compiled.resources.shared_bytes;
    return image;
  };
}

// "13.0" from nvrtc::version()'s "nvrtc 13.0".
std::string nvrtc_version_number() {
  const std::string text = nvrtc::version();
  const std::size_t space = text.rfind(' ');
  return space == std::string::npos ? text : text.substr(space + 1);
}

class CudaBackend final : public detail::KernelBackend {
 public:
  // The driver is loaded first so that a machine without one fails before the binary cache is opened.
  explicit CudaBackend(const EngineOptions& options) : CudaBackend(options, driver()) {}

  Backend kind() const override { return Backend::cuda; }
  Device device() const override { return Device::cuda; }

  void synchronize() override {
    std::lock_guard lock(pass_mutex());
    device_.synchronize();
  }

  void* allocate(std::size_t bytes) override {
    std::lock_guard lock(pass_mutex());
    void* pointer = device_.allocate(bytes);
    device_.fill_zero(pointer, bytes);
    device_.synchronize();  // DeviceBuffer promises zero-filled memory as soon as it exists
    return pointer;
  }
  void release(void* pointer) noexcept override {
    std::lock_guard lock(pass_mutex());
    device_.release(pointer);
  }
  void copy_to_device(void* device, const void* host, std::size_t bytes, void* stream) override {
    std::lock_guard lock(pass_mutex());
    device_.copy_to_device(device, host, bytes, static_cast<CUstream>(stream));
  }
  void copy_to_host(void* host, const void* device, std::size_t bytes, void* stream) override {
    std::lock_guard lock(pass_mutex());
    device_.copy_to_host(host, device, bytes, static_cast<CUstream>(stream));
  }

  // "sm_90:NVIDIA H100 80GB HBM3:132:driver=13.0:nvrtc=13.0:cublasLt=13.1.0:gen=2".
  std::string environment() const override {
    const DeviceInfo& info = device_.info();
    return fmt::format("{}:{}:{}:driver={}:nvrtc={}:cublasLt={}:gen={}{}", info.arch(), info.name, info.sm_count,
                       format_cuda_version(info.driver_version), nvrtc_version_number(), cublaslt_version(),
                       gen::GENERATOR_VERSION, options_suffix());
  }

  CudaDevice& cuda_device() { return device_; }

 protected:
  // Points the device at the caller's stream for one pass, ordered after the last work on any other
  // stream (stream_order.h), and back at the default stream afterwards, so nothing later runs on a
  // stream the caller may have destroyed since.
  void begin_pass(void* stream) override { device_.begin_stream_work(static_cast<CUstream>(stream)); }
  void end_pass() noexcept override { device_.end_stream_work(); }

 private:
  CudaBackend(const EngineOptions& options, const DriverApi& api)
      : KernelBackend(options, std::make_unique<CudaDevice>(
                                   api, options.device,
                                   cached_nvrtc_compiler(std::make_shared<detail::BinaryCache>(
                                       detail::default_binary_cache_path(options.cache_path))))),
        device_(static_cast<CudaDevice&>(kernel_device())) {}

  CudaDevice& device_;  // owned by KernelBackend
};

}  // namespace

CudaDevice* cuda_device_of(detail::BackendImpl& backend) {
  auto* cuda = dynamic_cast<CudaBackend*>(&backend);
  return cuda ? &cuda->cuda_device() : nullptr;
}

}  // namespace dcnjit::cuda

namespace dcnjit::detail {

std::shared_ptr<BackendImpl> make_cuda_backend(const EngineOptions& options) {
  return std::make_shared<cuda::CudaBackend>(options);
}

}  // namespace dcnjit::detail
