// The cpu backend: adapts Plan's TensorRefs and Config to the core in dcn_cpu.h, owns the thread pool,
// and keeps a workspace between calls. Its one algorithm, "im2col", has the knob table of cpu_knobs.h.
//
// Precision per dtype (runtime/cpu/README.md):
//   f32   computed in f32, the caller's memory used as it is;
//   f64   computed in f64 (OpenBLAS dgemm);
//   bf16  natively where the CPU multiplies bf16 (AVX512-BF16) and gemm=onednn: x, y, grad_y and grad_x
//         are read and written in place, columns and GEMM inputs are bf16, sums f32; offset, mask,
//         weight and bias (and their gradients) are small and staged through f32 copies. Otherwise
//         every bf16 tensor is staged through f32 copies and the pass runs in f32;
//   f16   staged through f32 copies (F16C conversions) and computed in f32.
// Both layouts run without a copy of the caller's tensors beyond these: NHWC activations are read and
// written where they are.
//
// Concurrency: an Engine shares one backend among all its plans, so each pass takes a mutex; passes from
// several threads are serialized (each one already uses all the configured threads).
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "core/host_memory.h"
#include "runtime/backend.h"
#include "runtime/cpu/cpu_knobs.h"
#include "runtime/cpu/dcn_cpu.h"
#include "runtime/cpu/float_staging.h"

namespace dcnjit::detail {
namespace {

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const std::size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

// More threads than this is a typo, not a machine.
constexpr int kMaxThreads = 4096;

int resolve_threads(int requested) {
  if (requested < 0 || requested > kMaxThreads)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("threads={} must be in [0, {}] (0 = all cores)", requested, kMaxThreads));
  if (requested > 0) return requested;
  return std::max(1, int(std::thread::hardware_concurrency()));
}

class CpuBackend final : public BackendImpl {
 public:
  explicit CpuBackend(const EngineOptions& options)
      : threads_(resolve_threads(options.threads)),
        pool_(threads_),
        model_(cpu_model_name()),
        algorithms_(offered_algorithms({"im2col"}, options, Backend::cpu)) {}

  Backend kind() const override { return Backend::cpu; }

  const std::vector<std::string>& algorithms() const override { return algorithms_; }

  const KnobTable& knobs(std::string_view algorithm) const override {
    if (algorithm != "im2col")
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("algorithm: '{}' is not one of the cpu backend's (im2col)", algorithm));
    return cpu::cpu_knobs();
  }

  std::string cannot_implement(std::string_view algorithm, const Problem& problem) const override {
    knobs(algorithm);
    return {};
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    // One workspace serves either direction, whichever needs more for this problem.
    const cpu::CpuConfig cpu_config = cpu::cpu_config_of(config);
    auto bytes = [&](auto precision) {
      using Prec = decltype(precision);
      return std::max(cpu::forward_workspace_bytes<Prec>(problem, cpu_config, threads_),
                      cpu::backward_workspace_bytes<Prec>(problem, cpu_config, threads_));
    };
    switch (path_of(problem, cpu_config)) {
      case Path::f64: return bytes(cpu::F64{});
      case Path::bf16: return bytes(cpu::Bf16Native{});
      case Path::f32: break;
    }
    return bytes(cpu::F32{});
  }

  void forward(const Problem& problem, const Config& config, const ForwardArgs& args) override {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      run_forward(problem, config, args);
    } catch (const std::bad_alloc&) {
      throw out_of_memory(problem);
    }
  }

  void backward(const Problem& problem, const Config& config, const BackwardArgs& args) override {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      run_backward(problem, config, args);
    } catch (const std::bad_alloc&) {
      throw out_of_memory(problem);
    }
  }

  std::string environment() const override { return fmt::format("cpu:{}:threads={}", model_, threads_); }

 private:
  // The workspace and the packed weights report their own sizes (dcn_cpu.cpp, blas_gemm.cpp); what is left
  // are the f32 copies of f16/bf16 tensors.
  static Error out_of_memory(const Problem& problem) {
    const double pixels = double(problem.Ho()) * problem.Wo();
    const double tensors = double(problem.N) * problem.C * problem.H * problem.W +
                           double(problem.N) * problem.offset_groups * problem.taps() * 3 * pixels +
                           double(problem.Co) * (problem.C / problem.groups) * problem.taps() +
                           double(problem.N) * problem.Co * pixels;
    return Error(ErrorCode::LaunchError,
                 fmt::format("cpu backend: out of host memory for the f32 copies of the {} tensors of '{}' (about {} "
                             "per direction)",
                             to_string(problem.dtype), problem.to_string(),
                             detail::byte_count_text(std::size_t(tensors * sizeof(float)))));
  }

  using Path = cpu::GemmPath;

  // Which precision runs the problem (the class comment above).
  static Path path_of(const Problem& problem, const cpu::CpuConfig& config) {
    return cpu::gemm_path_of(problem.dtype, config);
  }

  template <typename T>
  static const T* in(const TensorRef& t) {
    return static_cast<const T*>(t.data);
  }
  template <typename T>
  static T* out(const TensorRef& t) {
    return static_cast<T*>(t.data);
  }

  cpu::CpuContext context() { return cpu::CpuContext{pool_, phase_sink(), &packed_}; }

  void run_forward(const Problem& problem, const Config& config, const ForwardArgs& args) {
    const cpu::CpuConfig c = cpu::cpu_config_of(config);
    const Path path = path_of(problem, c);
    if (path == Path::f64) {
      cpu::ForwardTensors<cpu::F64> t;
      t.x = in<double>(args.x);
      t.offset = in<double>(args.offset);
      t.mask = problem.mask ? in<double>(args.mask) : nullptr;
      t.weight = in<double>(args.weight);
      t.bias = in<double>(args.bias);
      t.y = out<double>(args.y);
      cpu::dcn_forward<cpu::F64>(problem, c, t, context(), workspace_for<cpu::F64>(problem, c, args.workspace,
                                                                                    args.workspace_bytes, true));
      return;
    }
    std::vector<float> x, offset, mask, weight, bias, y;
    if (path == Path::bf16) {
      cpu::ForwardTensors<cpu::Bf16Native> t;
      t.x = in<cpu::Bf16>(args.x);
      t.offset = cpu::input_as_f32(args.offset, offset);
      t.mask = problem.mask ? cpu::input_as_f32(args.mask, mask) : nullptr;
      t.weight = cpu::input_as_f32(args.weight, weight);
      t.bias = cpu::input_as_f32(args.bias, bias);
      t.y = out<cpu::Bf16>(args.y);
      cpu::dcn_forward<cpu::Bf16Native>(
          problem, c, t, context(),
          workspace_for<cpu::Bf16Native>(problem, c, args.workspace, args.workspace_bytes, true));
      return;
    }
    cpu::ForwardTensors<cpu::F32> t;
    t.x = cpu::input_as_f32(args.x, x);
    t.offset = cpu::input_as_f32(args.offset, offset);
    t.mask = problem.mask ? cpu::input_as_f32(args.mask, mask) : nullptr;
    t.weight = cpu::input_as_f32(args.weight, weight);
    t.bias = cpu::input_as_f32(args.bias, bias);
    t.y = cpu::output_as_f32(args.y, y);
    cpu::dcn_forward<cpu::F32>(problem, c, t, context(),
                               workspace_for<cpu::F32>(problem, c, args.workspace, args.workspace_bytes, true));
    cpu::store_output(args.y, y);
  }

  void run_backward(const Problem& problem, const Config& config, const BackwardArgs& args) {
    const cpu::CpuConfig c = cpu::cpu_config_of(config);
    const Path path = path_of(problem, c);
    if (path == Path::f64) {
      cpu::BackwardTensors<cpu::F64> t;
      t.x = in<double>(args.x);
      t.offset = in<double>(args.offset);
      t.mask = problem.mask ? in<double>(args.mask) : nullptr;
      t.weight = in<double>(args.weight);
      t.grad_y = in<double>(args.grad_y);
      t.grad_x = out<double>(args.grad_x);
      t.grad_offset = out<double>(args.grad_offset);
      t.grad_mask = problem.mask ? out<double>(args.grad_mask) : nullptr;
      t.grad_weight = out<double>(args.grad_weight);
      t.grad_bias = out<double>(args.grad_bias);
      cpu::dcn_backward<cpu::F64>(problem, c, t, context(),
                                  workspace_for<cpu::F64>(problem, c, args.workspace, args.workspace_bytes, false));
      return;
    }
    std::vector<float> x, offset, mask, weight, grad_y, grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
    // The small tensors (offset, mask, weight and their gradients) are f32 in both remaining paths.
    auto run = [&](auto tensors) {
      using Prec = typename decltype(tensors)::Precision;
      auto& t = tensors.t;
      t.offset = cpu::input_as_f32(args.offset, offset);
      t.mask = problem.mask ? cpu::input_as_f32(args.mask, mask) : nullptr;
      t.weight = cpu::input_as_f32(args.weight, weight);
      t.grad_offset = cpu::output_as_f32(args.grad_offset, grad_offset);
      t.grad_mask = problem.mask ? cpu::output_as_f32(args.grad_mask, grad_mask) : nullptr;
      t.grad_weight = cpu::output_as_f32(args.grad_weight, grad_weight);
      t.grad_bias = cpu::output_as_f32(args.grad_bias, grad_bias);
      cpu::dcn_backward<Prec>(problem, c, t, context(),
                              workspace_for<Prec>(problem, c, args.workspace, args.workspace_bytes, false));
      cpu::store_output(args.grad_offset, grad_offset);
      if (problem.mask) cpu::store_output(args.grad_mask, grad_mask);
      cpu::store_output(args.grad_weight, grad_weight);
      cpu::store_output(args.grad_bias, grad_bias);
    };
    if (path == Path::bf16) {
      Tensors<cpu::Bf16Native> tensors;
      tensors.t.x = in<cpu::Bf16>(args.x);
      tensors.t.grad_y = in<cpu::Bf16>(args.grad_y);
      tensors.t.grad_x = out<cpu::Bf16>(args.grad_x);
      run(tensors);
      return;
    }
    Tensors<cpu::F32> tensors;
    tensors.t.x = cpu::input_as_f32(args.x, x);
    tensors.t.grad_y = cpu::input_as_f32(args.grad_y, grad_y);
    tensors.t.grad_x = cpu::output_as_f32(args.grad_x, grad_x);
    run(tensors);
    cpu::store_output(args.grad_x, grad_x);
  }

  template <typename Prec>
  struct Tensors {
    using Precision = Prec;
    cpu::BackwardTensors<Prec> t;
  };

  // The caller's workspace when it is large enough for the pass and aligned for double, else the
  // backend's own buffer, grown on demand and kept for later calls.
  template <typename Prec>
  void* workspace_for(const Problem& problem, const cpu::CpuConfig& c, void* caller, std::size_t caller_bytes,
                      bool forward) {
    const std::size_t needed = forward ? cpu::forward_workspace_bytes<Prec>(problem, c, threads_)
                                       : cpu::backward_workspace_bytes<Prec>(problem, c, threads_);
    if (caller && caller_bytes >= needed && reinterpret_cast<std::uintptr_t>(caller) % alignof(double) == 0)
      return caller;
    const std::size_t words = (needed + sizeof(double) - 1) / sizeof(double);
    if (kept_words_ < words) {
      kept_.reset();  // release the old buffer before allocating the larger one
      kept_words_ = 0;
      detail::allocate_host("cpu workspace", std::max<std::size_t>(words, 1) * sizeof(double),
                            [&] { kept_.reset(new double[std::max<std::size_t>(words, 1)]); });
      kept_words_ = words;
    }
    return kept_.get();
  }

  const int threads_;
  std::mutex mutex_;  // one pass at a time: the pool and the kept workspace are shared
  cpu::ThreadPool pool_;
  const std::string model_;
  const std::vector<std::string> algorithms_;  // {"im2col"}: EngineOptions::algorithm may only name it
  cpu::PackedStore packed_;         // the packed weights of the last pass, reused by the next
  std::unique_ptr<double[]> kept_;  // double: aligned for either element type
  std::size_t kept_words_ = 0;
};

}  // namespace

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions& options) {
  return std::make_shared<CpuBackend>(options);
}

}  // namespace dcnjit::detail
