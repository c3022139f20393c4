// FakeBackend: a BackendImpl whose run times the test decides, so the selection, persistence and
// policy logic can be checked exactly (which config must win) without depending on a real backend's
// noisy timings. It records the config of the latest forward and backward call, so a test can see
// which config a Plan passed down, and which gradients the latest backward call asked for (a cost
// may depend on them, as the fused/split choice does on a real backend). Its one algorithm "im2col" has
// a knob table shaped like the cpu backend's (step dividing N, pixel tile) or, with `space =
// Backend::cuda`, the real im2col table of a cuda device with 4 GEMM candidates (step, threads, items,
// fused/split, atomics, per-role GEMM algorithms), so GPU-only knobs can be tested without a GPU.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "algorithms/im2col/im2col_knobs.h"
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
  // Which real backend's space the tuner sees: cpu or cuda (set before the first use).
  Backend space = Backend::cpu;
  // A config whose run faults the device (an illegal address): that run and every later call throw
  // Error(DeviceLost), as a CUDA context does after a sticky error.
  std::function<bool(const Config&)> faults;
  // A combination the backend refuses on top of the table's rules: returns why, or "" to accept.
  std::function<std::string(const Config&)> refuse;
  // The compiled kernels' verdict on a config (a GPU's spills or shared memory): why, or "" when fine.
  std::function<std::string(const Config&)> resources;
  std::string env = "fake:test-device:gen1";
  std::atomic<int> runs{0};
  std::atomic<int> runs_after_loss{0};  // calls attempted after `faults` fired

  Backend kind() const override { return space; }
  const std::vector<std::string>& algorithms() const override { return algorithms_; }
  const KnobTable& knobs(std::string_view algorithm) const override {
    if (algorithm != "im2col")
      throw Error(ErrorCode::InvalidArgument, "algorithm: '" + std::string(algorithm) + "' is not the fake's");
    return space == Backend::cuda ? cuda_table_ : cpu_table_;
  }
  std::string cannot_implement(std::string_view, const Problem&) const override { return {}; }
  std::string resource_problem(const Problem&, const Config& config, Direction) override {
    return resources ? resources(config) : std::string();
  }

  // A knob's value in a config of this backend, as an integer (word knobs: the word's index).
  int64_t knob(const Config& config, const char* name) const { return knobs("im2col").value(config, name); }

  std::size_t workspace_size(const Problem&, const Config& config) const override {
    return 64 * std::size_t(knob(config, "step"));
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
    if (lost_) {
      ++runs_after_loss;
      throw Error(ErrorCode::DeviceLost, "fake device lost earlier");
    }
    ++runs;
    if (faults && faults(config)) {
      lost_ = true;
      throw Error(ErrorCode::DeviceLost, "fake illegal address in " + config.to_string());
    }
    if (us < 0) throw Error(ErrorCode::LaunchError, "fake launch failure for " + config.to_string());
    // Busy-wait: sleeping would add scheduler latency noise larger than the differences under test.
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(us);
    while (std::chrono::steady_clock::now() < end) {
    }
  }

  static detail::DeviceTraits cuda_traits() {
    detail::DeviceTraits traits;
    traits.backend = Backend::cuda;
    traits.gemm_algorithms = 4;
    return traits;
  }

  ConfigCheck refusal() {
    return [this](const Problem&, const KnobTable&, const Config& c) { return refuse ? refuse(c) : std::string(); };
  }

  const std::vector<std::string> algorithms_{"im2col"};
  // cpu: 1 <= step <= N and step divides N (powers of two and N tried); tile in {0, 256, 1024, 4096}.
  const KnobTable cpu_table_{
      "im2col",
      {{"step", "images per chunk", Affects::both, {},
        [](const Problem& p) {
          std::vector<int64_t> v;
          for (int64_t s = 1; s < p.N; s *= 2) v.push_back(s);
          v.push_back(p.N);
          return v;
        },
        [](const Problem&) -> int64_t { return 1; },
        [](const Problem& p, int64_t v) -> std::string {
          return v >= 1 && v <= p.N && p.N % v == 0 ? "" : "step does not divide N";
        }},
       {"tile", "pixels per tile", Affects::both, {},
        [](const Problem&) { return std::vector<int64_t>{0, 256, 1024, 4096}; },
        [](const Problem&) -> int64_t { return 0; },
        [](const Problem&, int64_t t) -> std::string {
          return t == 0 || t == 256 || t == 1024 || t == 4096 ? "" : "tile";
        }}},
      refusal()};
  // cuda: the im2col algorithm's own table, with the refusal on top.
  const KnobTable cuda_table_{"im2col",
                              std::vector<KnobDef>(algo::im2col::make_im2col_knobs(cuda_traits()).knobs()),
                              refusal()};

  mutable std::mutex mutex_;
  std::atomic<bool> lost_{false};
  std::optional<Config> last_forward_, last_backward_;
  std::optional<PassOutputs> last_backward_outputs_;
};

// True when `config` sets knob `name` to `value`.
inline bool has_knob(const Config& config, const char* name, const char* value) {
  const std::string* v = config.find(name);
  return v && *v == value;
}

}  // namespace dcnjit::tuner::testing
