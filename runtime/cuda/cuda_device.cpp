// CudaDevice (see cuda_device.h).
#include "runtime/cuda/cuda_device.h"

#include <fmt/format.h>

#include "dcnjit/error.h"
#include "generator/generator.h"
#include "runtime/cuda/event_timer.h"

namespace dcnjit::cuda {

// DCNJIT_CU through CudaDevice::check, so a sticky error is remembered (device_errors.h).
#define DCNJIT_DEVICE_CU(call) check(api_.call, #call)

namespace {

CUdeviceptr device_pointer(const void* pointer) { return reinterpret_cast<CUdeviceptr>(pointer); }

// Kernels use up to this much dynamic shared memory without opting in.
constexpr int kDefaultDynamicSharedLimit = 48 * 1024;

}  // namespace

// A module with the one entry point dcnjit uses from it, and the size of that entry's single
// parameter (checked at every launch: a host/device mismatch of the params struct must fail loudly,
// not read garbage).
class CudaDevice::Kernel final : public detail::LoadedKernel {
 public:
  Kernel(const DriverApi& api, CUmodule module, CUfunction function, std::string name, std::size_t param_bytes)
      : api_(api), module_(module), function_(function), name_(std::move(name)), param_bytes_(param_bytes) {}
  ~Kernel() override { api_.cuModuleUnload(module_); }

  CUfunction function() const { return function_; }
  const std::string& name() const { return name_; }
  std::size_t param_bytes() const { return param_bytes_; }

 private:
  const DriverApi& api_;
  CUmodule module_;
  CUfunction function_;
  std::string name_;
  std::size_t param_bytes_;
};

// StreamOrder's operations on one event of the device's context (created on first use, timing off: it
// only orders). Every call is made with the context current.
class CudaDevice::EventOps final : public StreamOps {
 public:
  explicit EventOps(CudaDevice& device) : device_(device) {}
  ~EventOps() override {
    if (event_) device_.api_.cuEventDestroy(event_);
  }
  void record(CUstream stream) override { device_.check(device_.api_.cuEventRecord(event(), stream), "cuEventRecord"); }
  void wait(CUstream stream) override {
    device_.check(device_.api_.cuStreamWaitEvent(stream, event(), 0), "cuStreamWaitEvent");
  }
  void synchronize() override { device_.check(device_.api_.cuEventSynchronize(event()), "cuEventSynchronize"); }

 private:
  CUevent event() {
    if (!event_) device_.check(device_.api_.cuEventCreate(&event_, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    return event_;
  }
  CudaDevice& device_;
  CUevent event_ = nullptr;
};

namespace {

detail::DeviceTraits traits_of(const DeviceInfo& info) {
  detail::DeviceTraits traits;
  traits.backend = Backend::cuda;
  traits.arch = info.arch_number();
  traits.sm_count = info.sm_count;
  traits.l2_bytes = std::size_t(info.l2_bytes);
  traits.max_grid_x = info.max_grid_x;
  traits.max_dynamic_shared_bytes = std::size_t(info.max_shared_per_block_optin);
  traits.gemm_algorithms = CublasLtGemm::kMaxCandidates;
  return traits;
}

}  // namespace

CudaDevice::CudaDevice(const DriverApi& api, int ordinal, KernelCompiler compiler)
    : api_(api),
      info_(query_device(api, ordinal)),
      traits_(traits_of(info_)),
      context_(api, ordinal),
      compiler_(std::move(compiler)),
      event_ops_(std::make_unique<EventOps>(*this)),
      order_(std::make_unique<StreamOrder>(*event_ops_)) {
  if (!compiler_) throw Error(ErrorCode::Internal, "CudaDevice: no kernel compiler given");
}

void CudaDevice::check(CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  const Error error(error_code_for(result), fmt::format("{} failed: {}", call, api_.describe(result)));
  errors_.thrown(error);
  throw error;
}

CudaDevice::~CudaDevice() {
  // Best effort: nothing here may throw. Work still queued must finish before its memory goes.
  try {
    ContextScope scope(api_, context_.get());
    api_.cuStreamSynchronize(stream_);
    order_->before_free();
    kernels_.clear();
    order_.reset();
    event_ops_.reset();
    gemm_.reset();
    if (gemm_workspace_) api_.cuMemFree(device_pointer(gemm_workspace_));
    for (void* buffer : ones_)
      if (buffer) api_.cuMemFree(device_pointer(buffer));
  } catch (...) {
  }
}

void* CudaDevice::allocate(std::size_t bytes) {
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  CUdeviceptr pointer = 0;
  const CUresult result = api_.cuMemAlloc(&pointer, std::max<std::size_t>(bytes, 1));
  if (result == CUDA_ERROR_OUT_OF_MEMORY)
    throw Error(ErrorCode::LaunchError, fmt::format("allocate: out of GPU memory for {} bytes on {} (device {})", bytes,
                                                    info_.name, info_.ordinal));
  check(result, "cuMemAlloc(&pointer, bytes)");
  return reinterpret_cast<void*>(pointer);
}

void CudaDevice::release(void* pointer) noexcept {
  if (!pointer) return;
  try {
    ContextScope scope(api_, context_.get());
    order_->before_free();  // a pass on another stream may still read or write it
    check(api_.cuMemFree(device_pointer(pointer)), "cuMemFree");
  } catch (const Error& e) {
    errors_.noted(e);
  } catch (...) {
    errors_.noted(Error(ErrorCode::Internal, "release: an unexpected exception"));
  }
}

void CudaDevice::begin_stream_work(CUstream stream) {
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  order_->before(stream);
  stream_ = stream;
}

void CudaDevice::end_stream_work() noexcept {
  try {
    if (!errors_.lost()) {
      ContextScope scope(api_, context_.get());
      order_->after(stream_);
    }
  } catch (const Error& e) {
    errors_.noted(e);
  } catch (...) {
    errors_.noted(Error(ErrorCode::Internal, "end of a pass: an unexpected exception"));
  }
  stream_ = nullptr;
}

void CudaDevice::fill_zero(void* pointer, std::size_t bytes) {
  if (bytes == 0) return;
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  DCNJIT_DEVICE_CU(cuMemsetD8Async(device_pointer(pointer), 0, bytes, stream_));
}

detail::LoadedKernel* CudaDevice::load(const gen::KernelSource& kernel) {
  errors_.throw_pending();
  std::lock_guard lock(kernels_mutex_);
  const std::string key = kernel.name + '\n' + kernel.source;
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second.get();

  const KernelImage image = compiler_(kernel, info_.arch_number());
  ContextScope scope(api_, context_.get());
  CUmodule module = nullptr;
  const CUresult loaded = api_.cuModuleLoadData(&module, image.data.c_str());
  if (is_sticky(loaded)) check(loaded, "cuModuleLoadData");
  if (loaded != CUDA_SUCCESS)
    throw Error(ErrorCode::LaunchError,
                fmt::format("cuModuleLoadData({}, {} for {}) failed: {}{}", kernel.name,
                            image.is_cubin ? "cubin" : "PTX", info_.arch(), api_.describe(loaded),
                            image.is_cubin ? "" : "; the driver may be older than NVRTC's PTX version"));
  try {
    CUfunction function = nullptr;
    check(api_.cuModuleGetFunction(&function, module, image.lowered_name.c_str()),
               fmt::format("cuModuleGetFunction({})", image.lowered_name).c_str());

    std::size_t offset = 0, param_bytes = 0;
    check(api_.cuFuncGetParamInfo(function, 0, &offset, &param_bytes),
               fmt::format("cuFuncGetParamInfo({}, 0)", kernel.name).c_str());
    std::size_t second_offset = 0, second_bytes = 0;
    if (api_.cuFuncGetParamInfo(function, 1, &second_offset, &second_bytes) == CUDA_SUCCESS)
      throw Error(ErrorCode::Internal,
                  fmt::format("kernel {}: takes more than one parameter; generated entry points take exactly one {}",
                              kernel.name, kernel.param_type));

    if (kernel.dynamic_shared_bytes > kDefaultDynamicSharedLimit) {
      if (kernel.dynamic_shared_bytes > info_.max_shared_per_block_optin)
        throw Error(ErrorCode::Unsupported,
                    fmt::format("kernel {}: needs {} bytes of shared memory, {} allows at most {}", kernel.name,
                                kernel.dynamic_shared_bytes, info_.name, info_.max_shared_per_block_optin));
      DCNJIT_DEVICE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                         kernel.dynamic_shared_bytes));
    }
    auto owned = std::make_unique<Kernel>(api_, module, function, kernel.name, param_bytes);
    return kernels_.emplace(key, std::move(owned)).first->second.get();
  } catch (...) {
    api_.cuModuleUnload(module);
    throw;
  }
}

void CudaDevice::launch(detail::LoadedKernel* loaded, const detail::LaunchDims& dims, const void* params,
                        std::size_t params_bytes) {
  errors_.throw_pending();
  auto* kernel = dynamic_cast<Kernel*>(loaded);
  if (!kernel) throw Error(ErrorCode::Internal, "launch: the kernel was not loaded by this CUDA device");
  if (params_bytes != kernel->param_bytes())
    throw Error(ErrorCode::Internal,
                fmt::format("launch {}: the host passes a {}-byte params struct but the kernel takes {} bytes "
                            "(host and device views of templates/params.cuh disagree)",
                            kernel->name(), params_bytes, kernel->param_bytes()));
  if (dims.grid[0] == 0 || dims.grid[0] > info_.max_grid_x)
    throw Error(ErrorCode::Internal, fmt::format("launch {}: grid.x={} outside [1, {}]", kernel->name(), dims.grid[0],
                                                 info_.max_grid_x));
  ContextScope scope(api_, context_.get());
  void* arguments[] = {const_cast<void*>(params)};
  const CUresult result =
      api_.cuLaunchKernel(kernel->function(), dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0], dims.block[1],
                          dims.block[2], dims.dynamic_shared_bytes, stream_, arguments, nullptr);
  if (result != CUDA_SUCCESS)
    check(result, fmt::format("cuLaunchKernel({}, grid {}x{}x{}, block {}x{}x{}, {} B shared)", kernel->name(),
                              dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0], dims.block[1], dims.block[2],
                              dims.dynamic_shared_bytes)
                      .c_str());
}

const void* CudaDevice::ones(DType dtype, int64_t count) {
  const auto slot = std::size_t(dtype);
  if (ones_count_[slot] >= count) return ones_[slot];
  // Grow to a power of two so a sequence of growing shapes reallocates only a few times.
  int64_t capacity = 1024;
  while (capacity < count) capacity *= 2;
  if (ones_[slot]) {
    DCNJIT_DEVICE_CU(cuStreamSynchronize(stream_));  // earlier GEMMs of this pass may still read it,
    order_->before_free();                            // and of earlier passes on other streams
    DCNJIT_DEVICE_CU(cuMemFree(device_pointer(ones_[slot])));
    ones_[slot] = nullptr;
    ones_count_[slot] = 0;
  }
  CUdeviceptr pointer = 0;
  DCNJIT_DEVICE_CU(cuMemAlloc(&pointer, std::size_t(capacity) * dtype_size(dtype)));
  switch (dtype) {
    case DType::f32: DCNJIT_DEVICE_CU(cuMemsetD32Async(pointer, 0x3F800000u, std::size_t(capacity), stream_)); break;
    case DType::f16: DCNJIT_DEVICE_CU(cuMemsetD16Async(pointer, 0x3C00u, std::size_t(capacity), stream_)); break;
    case DType::bf16: DCNJIT_DEVICE_CU(cuMemsetD16Async(pointer, 0x3F80u, std::size_t(capacity), stream_)); break;
    case DType::f64: throw Error(ErrorCode::Unsupported, "cuda gemm: f64 is not supported");
  }
  // Once per growth: makes the vector valid for GEMMs on any stream set later, not just this one.
  DCNJIT_DEVICE_CU(cuStreamSynchronize(stream_));
  ones_[slot] = reinterpret_cast<void*>(pointer);
  ones_count_[slot] = capacity;
  return ones_[slot];
}

void CudaDevice::gemm(const detail::GemmDesc& desc) {
  errors_.throw_pending();
  validate_gemm_desc(desc);
  ContextScope scope(api_, context_.get());
  if (!gemm_) gemm_ = std::make_unique<CublasLtGemm>();
  if (!gemm_workspace_) {
    CUdeviceptr pointer = 0;
    DCNJIT_DEVICE_CU(cuMemAlloc(&pointer, kGemmWorkspaceBytes));
    gemm_workspace_ = reinterpret_cast<void*>(pointer);
  }
  if (!desc.bias) {
    gemm_->run(desc, stream_, gemm_workspace_, kGemmWorkspaceBytes);
    return;
  }
  gemm_->run(bias_broadcast_gemm(desc, ones(desc.dtype, desc.bias_per_column ? desc.m : desc.n)), stream_,
             gemm_workspace_, kGemmWorkspaceBytes);
  detail::GemmDesc accumulate = desc;
  accumulate.bias = nullptr;
  accumulate.beta = 1.0f;
  gemm_->run(accumulate, stream_, gemm_workspace_, kGemmWorkspaceBytes);
}

int CudaDevice::gemm_candidate_count(const detail::GemmDesc& desc) {
  ContextScope scope(api_, context_.get());
  if (!gemm_) gemm_ = std::make_unique<CublasLtGemm>();
  detail::GemmDesc without_bias = desc;
  without_bias.bias = nullptr;
  return gemm_->candidate_count(without_bias, kGemmWorkspaceBytes);
}

std::string CudaDevice::resource_problem(const gen::KernelSpec& spec) {
  // Registers per SM on every architecture NVRTC targets here (sm_70 to sm_120).
  constexpr int kRegistersPerSm = 64 * 1024;
  const KernelImage image = compiler_(gen::generate_kernel(spec), info_.arch_number());
  if (!image.resources_known) return {};
  const std::string name = spec.name();
  if (image.spill_bytes > 0)
    return fmt::format("{}: spills {} bytes at {} registers per thread", name, image.spill_bytes, image.registers);
  if (image.registers * spec.block_threads > kRegistersPerSm)
    return fmt::format("{}: {} registers x {} threads exceed an SM's {} (no block fits)", name, image.registers,
                       spec.block_threads, kRegistersPerSm);
  const int shared = image.static_shared_bytes + spec.dynamic_shared_bytes;
  if (shared > info_.max_shared_per_block_optin)
    return fmt::format("{}: {} bytes of shared memory per block, {} allows {}", name, shared, info_.name,
                       info_.max_shared_per_block_optin);
  return {};
}

void CudaDevice::synchronize() {
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  DCNJIT_DEVICE_CU(cuStreamSynchronize(stream_));
}

void CudaDevice::copy_to_device(void* device, const void* host, std::size_t bytes, CUstream stream) {
  if (bytes == 0) return;
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  order_->before(stream);
  DCNJIT_DEVICE_CU(cuMemcpyHtoDAsync(device_pointer(device), host, bytes, stream));
  order_->after(stream);
  DCNJIT_DEVICE_CU(cuStreamSynchronize(stream));
}

void CudaDevice::copy_to_host(void* host, const void* device, std::size_t bytes, CUstream stream) {
  if (bytes == 0) return;
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  order_->before(stream);
  DCNJIT_DEVICE_CU(cuMemcpyDtoHAsync(host, device_pointer(device), bytes, stream));
  order_->after(stream);
  DCNJIT_DEVICE_CU(cuStreamSynchronize(stream));
}

double CudaDevice::time_ms(const std::function<void()>& work) {
  errors_.throw_pending();
  ContextScope scope(api_, context_.get());
  return cuda::time_ms(api_, stream_, work);
}

}  // namespace dcnjit::cuda
