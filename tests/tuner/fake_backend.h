// FakeBackend: a BackendImpl whose run times the test decides, so the selection, persistence and
// policy logic can be checked exactly (which config must win) without depending on a real backend's
// noisy timings. Its config space is the cpu backend's shape (im2col step x pixel tile).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "runtime/backend.h"

namespace dcnjit::tuner::testing {

class FakeBackend final : public detail::BackendImpl {
 public:
  // Run time of one pass under `config`, in microseconds; a negative value makes the run throw
  // (a config that fails to compile or launch).
  std::function<double(const Config&)> cost_us = [](const Config&) { return 50.0; };
  std::string env = "fake:test-device:gen1";
  std::atomic<int> runs{0};

  Backend kind() const override { return Backend::cpu; }

  Config default_config(const Problem& problem) const override {
    Config c;
    c.im2col_step = 1;
    c.cpu_pixel_tile = 0;
    return c;
  }

  // Valid: 1 <= step <= N and step divides N; tile in {0, 256, 1024, 4096}; GPU knobs at defaults.
  void validate_config(const Problem& problem, const Config& config) const override {
    if (config.im2col_step < 1 || config.im2col_step > problem.N || problem.N % config.im2col_step != 0)
      throw Error(ErrorCode::InvalidArgument, "config: step does not divide N");
    const int t = config.cpu_pixel_tile;
    if (t != 0 && t != 256 && t != 1024 && t != 4096) throw Error(ErrorCode::InvalidArgument, "config: tile");
    Config gpu_defaults;
    if (config.block_threads != gpu_defaults.block_threads || config.elems_per_thread != gpu_defaults.elems_per_thread ||
        config.gemm_algo != gpu_defaults.gemm_algo)
      throw Error(ErrorCode::InvalidArgument, "config: GPU knobs are not tunable on this backend");
  }

  std::size_t workspace_size(const Problem&, const Config&) const override { return 64; }

  void forward(const Problem&, const Config& config, const ForwardArgs& args) override { spend(config); }
  void backward(const Problem&, const Config& config, const BackwardArgs& args) override { spend(config); }

  std::string environment() const override { return env; }

 private:
  void spend(const Config& config) {
    ++runs;
    const double us = cost_us(config);
    if (us < 0) throw Error(ErrorCode::LaunchError, "fake launch failure for " + config.to_string());
    // Busy-wait: sleeping would add scheduler latency noise larger than the differences under test.
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(us);
    while (std::chrono::steady_clock::now() < end) {
    }
  }
};

}  // namespace dcnjit::tuner::testing
