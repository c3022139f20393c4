// The cpu backend: adapts Plan's TensorRefs and Config to the f32 core in dcn_cpu.h (f16/bf16 tensors are
// staged through f32 copies), owns the thread pool, and keeps a column workspace between calls.
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
#include "runtime/cpu/dcn_cpu.h"
#include "runtime/cpu/float_staging.h"
#include "runtime/host_memory.h"

namespace dcnjit::detail {
namespace {

// The default config keeps the column buffer of one chunk and tile under this size, so the GEMM reads
// the columns the sampling pass just wrote from the last-level cache, not from DRAM (on the r50 layer,
// 35 MB of columns against a 32 MB L3: forward 57.7 -> 53 ms on one thread), while the GEMMs stay long
// (>= 1000 columns for these layers). A constant, not sysconf's L3 size: in a VM that reports the host's
// whole L3 (320 MB here) where one core reaches 32 MB.
constexpr int64_t kColumnBudgetBytes = int64_t(16) << 20;

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

// `heuristic` is default_config(problem). im2col_step 0 means "heuristic" everywhere in the API; it is
// resolved here too (step, and the pixel tile unless one is given) so a raw Config{} runs bounded.
cpu::CpuConfig to_cpu_config(const Config& config, const Config& heuristic) {
  cpu::CpuConfig c;
  const bool use_heuristic = config.im2col_step == 0;
  c.im2col_step = use_heuristic ? heuristic.im2col_step : config.im2col_step;
  c.pixel_tile = use_heuristic && config.cpu_pixel_tile == 0 ? heuristic.cpu_pixel_tile : config.cpu_pixel_tile;
  return c;
}

class CpuBackend final : public BackendImpl {
 public:
  explicit CpuBackend(const EngineOptions& options)
      : threads_(resolve_threads(options.threads)), pool_(threads_), model_(cpu_model_name()) {}

  Backend kind() const override { return Backend::cpu; }

  Config default_config(const Problem& problem) const override {
    Config config;
    // In double: the product can exceed int64 for absurd (but valid) problem sizes.
    const double column_bytes_per_pixel = double(problem.C) * problem.taps() * sizeof(float);
    const double pixels = double(problem.Ho()) * double(problem.Wo());
    const double column_bytes_per_image = column_bytes_per_pixel * pixels;
    const double budget = double(kColumnBudgetBytes);
    if (column_bytes_per_image <= budget) {
      const double images = std::floor(budget / column_bytes_per_image);
      config.im2col_step = int(std::clamp<double>(images, 1, double(std::min<int64_t>(problem.N, INT32_MAX))));
    } else {
      // One image alone is over budget: tile its pixels into equal tiles (no short last tile for a
      // slow GEMM), each a multiple of 64 pixels.
      config.im2col_step = 1;
      const double most = std::max(64.0, std::floor(budget / column_bytes_per_pixel / 64) * 64);
      const double tiles = std::ceil(pixels / most);
      const double tile = std::ceil(pixels / tiles / 64) * 64;
      config.cpu_pixel_tile = int(std::clamp<double>(tile, 64, INT32_MAX));
    }
    return config;
  }

  void validate_config(const Problem& problem, const Config& config) const override {
    if (config.im2col_step < 1)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("im2col_step={} must be >= 1 for the cpu backend", config.im2col_step));
    if (config.cpu_pixel_tile < 0)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("cpu_pixel_tile={} must not be negative (0 = whole image)", config.cpu_pixel_tile));
    // A backward call never sees the forward's columns, so "keep" cannot be honoured; saying so
    // beats silently recomputing under a config that claims otherwise (profile lists it as skipped).
    if (config.keep_columns)
      throw Error(ErrorCode::InvalidArgument,
                  "keep_columns: cols=keep is not supported by the cpu backend (columns are recomputed in backward)");
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    // One workspace serves either direction: forward (columns, channels-last x, permuted weights) or
    // backward (columns, dcol, coordinate partials), whichever is larger for this problem.
    const cpu::CpuConfig cpu_config = to_cpu_config(config, default_config(problem));
    return std::max(cpu::forward_workspace_bytes(problem, cpu_config, sizeof(float)),
                    cpu::backward_workspace_bytes(problem, cpu_config, sizeof(float)));
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
  // The workspace reports its own size (dcn_cpu.cpp); what is left are the f32 copies of f16/bf16 tensors.
  static Error out_of_memory(const Problem& problem) {
    const double tensors = double(problem.N) * problem.C * problem.H * problem.W +
                           double(problem.N) * problem.offset_groups * problem.taps() * 3 * problem.Ho() * problem.Wo() +
                           double(problem.Co) * (problem.C / problem.groups) * problem.taps() +
                           double(problem.N) * problem.Co * problem.Ho() * problem.Wo();
    return Error(ErrorCode::LaunchError,
                 fmt::format("cpu backend: out of host memory for the f32 copies of the {} tensors of '{}' (about {} "
                             "per direction)",
                             to_string(problem.dtype), problem.to_string(),
                             detail::byte_count_text(std::size_t(tensors * sizeof(float)))));
  }

  void run_forward(const Problem& problem, const Config& config, const ForwardArgs& args) {
    const cpu::CpuConfig cpu_config = to_cpu_config(config, default_config(problem));
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
    const cpu::CpuConfig cpu_config = to_cpu_config(config, default_config(problem));
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

  // The caller's workspace when it is large enough and float-aligned, else the backend's own buffer,
  // grown on demand and kept for later calls.
  void* workspace_for(std::size_t needed, void* caller, std::size_t caller_bytes) {
    if (caller && caller_bytes >= needed && reinterpret_cast<std::uintptr_t>(caller) % alignof(float) == 0)
      return caller;
    const std::size_t floats = (needed + sizeof(float) - 1) / sizeof(float);
    if (kept_floats_ < floats) {
      kept_.reset();  // release the old buffer before allocating the larger one
      kept_floats_ = 0;
      kept_.reset(new float[std::max<std::size_t>(floats, 1)]);
      kept_floats_ = floats;
    }
    return kept_.get();
  }

  const int threads_;
  std::mutex mutex_;  // one pass at a time: the pool and the kept workspace are shared
  cpu::ThreadPool pool_;
  const std::string model_;
  std::unique_ptr<float[]> kept_;
  std::size_t kept_floats_ = 0;
};

}  // namespace

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions& options) {
  return std::make_shared<CpuBackend>(options);
}

}  // namespace dcnjit::detail
