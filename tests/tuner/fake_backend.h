// FakeBackend: a BackendImpl whose run times the test decides, so the selection, persistence and
// policy logic can be checked exactly (which config must win) without depending on a real backend's
// noisy timings. It records the config of the latest forward and backward call, so a test can see
// which config a Plan passed down, and which gradients the latest backward call asked for (a cost
// may depend on them, as the fused/split choice does on a real backend). Its config space is the cpu backend's shape (im2col step x pixel
// tile) or, with `space = Backend::cuda`, the generated kernels' (step, threads, elements per
// thread, fused/split, atomics) x 4 GEMM algorithms, so GPU-only knobs can be tested without a GPU.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "generator/config_space.h"
#include "runtime/backend.h"
#include "tuner/pass.h"

namespace dcnjit::tuner::testing {

class FakeBackend final : public detail::BackendImpl {
 public:
  // Run time of one pass under `config`, in microseconds; a negative value makes the run throw
  // (a config that fails to compile or launch).
  std::function<double(const Config&)> cost_us = [](const Config&) { return 50.0; };
  // The same for backward calls; cost_us when empty.
  std::function<double(const Config&)> backward_cost_us;
  // The same for backward calls, knowing which gradients the call requested; takes precedence over
  // backward_cost_us when set.
  std::function<double(const Config&, const PassOutputs&)> backward_cost_for_outputs_us;
  // Which real backend's space the tuner sees (tuner/config_space.cpp chooses by kind()): cpu or cuda.
  Backend space = Backend::cpu;
  // A combination validate_config refuses on top of the space's rules (throws); none when empty.
  std::function<void(const Config&)> refuse;
  std::string env = "fake:test-device:gen1";
  std::atomic<int> runs{0};

  Backend kind() const override { return space; }

  Config default_config(const Problem& problem) const override {
    if (space == Backend::cuda) return gen::default_kernel_config(problem);
    Config c;
    c.im2col_step = 1;
    c.cpu_pixel_tile = 0;
    return c;
  }

  // cpu: 1 <= step <= N and step divides N; tile in {0, 256, 1024, 4096}; GPU knobs at defaults.
  // cuda: the generator's kernel rules and a GEMM algorithm in [0, 4).
  void validate_config(const Problem& problem, const Config& config) const override {
    if (space == Backend::cuda) {
      gen::validate_kernel_config(problem, config);
      if (config.gemm_algo < 0 || config.gemm_algo >= 4) throw Error(ErrorCode::InvalidArgument, "config: algo");
    } else {
      if (config.im2col_step < 1 || config.im2col_step > problem.N || problem.N % config.im2col_step != 0)
        throw Error(ErrorCode::InvalidArgument, "config: step does not divide N");
      const int t = config.cpu_pixel_tile;
      if (t != 0 && t != 256 && t != 1024 && t != 4096) throw Error(ErrorCode::InvalidArgument, "config: tile");
      Config gpu_defaults;
      if (config.block_threads != gpu_defaults.block_threads ||
          config.elems_per_thread != gpu_defaults.elems_per_thread || config.gemm_algo != gpu_defaults.gemm_algo)
        throw Error(ErrorCode::InvalidArgument, "config: GPU knobs are not tunable on this backend");
    }
    if (refuse) refuse(config);
  }

  std::size_t workspace_size(const Problem&, const Config& config) const override {
    return 64 * std::size_t(config.im2col_step);
  }

  void forward(const Problem&, const Config& config, const ForwardArgs&) override {
    record(last_forward_, config);
    spend(config, cost_us(config));
  }
  void backward(const Problem&, const Config& config, const BackwardArgs& args) override {
    record(last_backward_, config);
    const PassOutputs requested = requested_gradients(args);
    {
      std::lock_guard lock(mutex_);
      last_backward_outputs_ = requested;
    }
    if (backward_cost_for_outputs_us) spend(config, backward_cost_for_outputs_us(config, requested));
    else spend(config, backward_cost_us ? backward_cost_us(config) : cost_us(config));
  }

  std::string environment() const override { return env; }

  std::optional<Config> last_forward_config() const {
    std::lock_guard lock(mutex_);
    return last_forward_;
  }
  std::optional<Config> last_backward_config() const {
    std::lock_guard lock(mutex_);
    return last_backward_;
  }
  std::optional<PassOutputs> last_backward_outputs() const {
    std::lock_guard lock(mutex_);
    return last_backward_outputs_;
  }

 private:
  static PassOutputs requested_gradients(const BackwardArgs& args) {
    PassOutputs out;
    out.grad_x = args.grad_x.present();
    out.grad_offset = args.grad_offset.present();
    out.grad_mask = args.grad_mask.present();
    out.grad_weight = args.grad_weight.present();
    out.grad_bias = args.grad_bias.present();
    return out;
  }

  void record(std::optional<Config>& slot, const Config& config) {
    std::lock_guard lock(mutex_);
    slot = config;
  }

  void spend(const Config& config, double us) {
    ++runs;
    if (us < 0) throw Error(ErrorCode::LaunchError, "fake launch failure for " + config.to_string());
    // Busy-wait: sleeping would add scheduler latency noise larger than the differences under test.
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(us);
    while (std::chrono::steady_clock::now() < end) {
    }
  }

  mutable std::mutex mutex_;
  std::optional<Config> last_forward_, last_backward_;
  std::optional<PassOutputs> last_backward_outputs_;
};

}  // namespace dcnjit::tuner::testing
