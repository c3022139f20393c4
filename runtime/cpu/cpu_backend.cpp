// The cpu backend: adapts Plan's TensorRefs and Config to the core in dcn_cpu.h (f32; f16/bf16 tensors are
// staged through f32 copies; f64 runs the double instantiation), owns the thread pool, and keeps a column
// workspace between calls. Its one algorithm, "im2col", has the knob table of cpu_knobs.h.
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
    if (problem.layout == Layout::nhwc) return "the cpu backend runs NCHW tensors only";
    return {};
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    // One workspace serves either direction: forward (columns, channels-last x, permuted weights) or
    // backward (columns, dcol, coordinate partials), whichever is larger for this problem.
    const cpu::CpuConfig cpu_config = cpu::cpu_config_of(config);
    const std::size_t element = problem.dtype == DType::f64 ? sizeof(double) : sizeof(float);
    return std::max(cpu::forward_workspace_bytes(problem, cpu_config, element),
                    cpu::backward_workspace_bytes(problem, cpu_config, element));
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
  static Error out_of_memory(const Problem& problem) {
    return Error(ErrorCode::LaunchError,
                 fmt::format("cpu backend: out of host memory for the workspace or f32 staging of '{}'; a smaller "
                             "im2col_step or cpu_pixel_tile needs less",
                             problem.to_string()));
  }

  void run_forward(const Problem& problem, const Config& config, const ForwardArgs& args) {
    const cpu::CpuConfig cpu_config = cpu::cpu_config_of(config);
    if (problem.dtype == DType::f64) return run_forward_f64(problem, cpu_config, args);
    std::vector<float> x, offset, mask, weight, bias, y;
    cpu::ForwardTensors<float> t;
    t.x = cpu::input_as_f32(args.x, x);
    t.offset = cpu::input_as_f32(args.offset, offset);
    t.mask = problem.mask ? cpu::input_as_f32(args.mask, mask) : nullptr;
    t.weight = cpu::input_as_f32(args.weight, weight);
    t.bias = cpu::input_as_f32(args.bias, bias);
    t.y = cpu::output_as_f32(args.y, y);
    void* workspace = workspace_for(cpu::forward_workspace_bytes(problem, cpu_config, sizeof(float)), args.workspace,
                                    args.workspace_bytes);
    cpu::dcn_forward<float>(problem, cpu_config, t, cpu::CpuContext{pool_, phase_sink()}, workspace);
    cpu::store_output(args.y, y);
  }

  void run_backward(const Problem& problem, const Config& config, const BackwardArgs& args) {
    const cpu::CpuConfig cpu_config = cpu::cpu_config_of(config);
    if (problem.dtype == DType::f64) return run_backward_f64(problem, cpu_config, args);
    std::vector<float> x, offset, mask, weight, grad_y, grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
    cpu::BackwardTensors<float> t;
    t.x = cpu::input_as_f32(args.x, x);
    t.offset = cpu::input_as_f32(args.offset, offset);
    t.mask = problem.mask ? cpu::input_as_f32(args.mask, mask) : nullptr;
    t.weight = cpu::input_as_f32(args.weight, weight);
    t.grad_y = cpu::input_as_f32(args.grad_y, grad_y);
    t.grad_x = cpu::output_as_f32(args.grad_x, grad_x);
    t.grad_offset = cpu::output_as_f32(args.grad_offset, grad_offset);
    t.grad_mask = problem.mask ? cpu::output_as_f32(args.grad_mask, grad_mask) : nullptr;
    t.grad_weight = cpu::output_as_f32(args.grad_weight, grad_weight);
    t.grad_bias = cpu::output_as_f32(args.grad_bias, grad_bias);
    void* workspace = workspace_for(cpu::backward_workspace_bytes(problem, cpu_config, sizeof(float)), args.workspace,
                                    args.workspace_bytes);
    cpu::dcn_backward<float>(problem, cpu_config, t, cpu::CpuContext{pool_, phase_sink()}, workspace);
    cpu::store_output(args.grad_x, grad_x);
    cpu::store_output(args.grad_offset, grad_offset);
    if (problem.mask) cpu::store_output(args.grad_mask, grad_mask);
    cpu::store_output(args.grad_weight, grad_weight);
    cpu::store_output(args.grad_bias, grad_bias);
  }

  // f64: the caller's tensors are used as they are (the core is templated on double).
  static const double* in64(const TensorRef& t) { return static_cast<const double*>(t.data); }
  static double* out64(const TensorRef& t) { return static_cast<double*>(t.data); }

  void run_forward_f64(const Problem& problem, const cpu::CpuConfig& cpu_config, const ForwardArgs& args) {
    cpu::ForwardTensors<double> t;
    t.x = in64(args.x);
    t.offset = in64(args.offset);
    t.mask = problem.mask ? in64(args.mask) : nullptr;
    t.weight = in64(args.weight);
    t.bias = in64(args.bias);
    t.y = out64(args.y);
    void* workspace = workspace_for(cpu::forward_workspace_bytes(problem, cpu_config, sizeof(double)),
                                    args.workspace, args.workspace_bytes);
    cpu::dcn_forward<double>(problem, cpu_config, t, cpu::CpuContext{pool_, phase_sink()}, workspace);
  }

  void run_backward_f64(const Problem& problem, const cpu::CpuConfig& cpu_config, const BackwardArgs& args) {
    cpu::BackwardTensors<double> t;
    t.x = in64(args.x);
    t.offset = in64(args.offset);
    t.mask = problem.mask ? in64(args.mask) : nullptr;
    t.weight = in64(args.weight);
    t.grad_y = in64(args.grad_y);
    t.grad_x = out64(args.grad_x);
    t.grad_offset = out64(args.grad_offset);
    t.grad_mask = problem.mask ? out64(args.grad_mask) : nullptr;
    t.grad_weight = out64(args.grad_weight);
    t.grad_bias = out64(args.grad_bias);
    void* workspace = workspace_for(cpu::backward_workspace_bytes(problem, cpu_config, sizeof(double)),
                                    args.workspace, args.workspace_bytes);
    cpu::dcn_backward<double>(problem, cpu_config, t, cpu::CpuContext{pool_, phase_sink()}, workspace);
  }

  // The caller's workspace when it is large enough and float-aligned, else the backend's own buffer,
  // grown on demand and kept for later calls.
  void* workspace_for(std::size_t needed, void* caller, std::size_t caller_bytes) {
    if (caller && caller_bytes >= needed && reinterpret_cast<std::uintptr_t>(caller) % alignof(double) == 0)
      return caller;
    const std::size_t words = (needed + sizeof(double) - 1) / sizeof(double);
    if (kept_words_ < words) {
      kept_.reset();  // release the old buffer before allocating the larger one
      kept_words_ = 0;
      kept_.reset(new double[std::max<std::size_t>(words, 1)]);
      kept_words_ = words;
    }
    return kept_.get();
  }

  const int threads_;
  std::mutex mutex_;  // one pass at a time: the pool and the kept workspace are shared
  cpu::ThreadPool pool_;
  const std::string model_;
  const std::vector<std::string> algorithms_;  // {"im2col"}: EngineOptions::algorithm may only name it
  std::unique_ptr<double[]> kept_;  // double: aligned for either element type
  std::size_t kept_words_ = 0;
};

}  // namespace

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions& options) {
  return std::make_shared<CpuBackend>(options);
}

}  // namespace dcnjit::detail
