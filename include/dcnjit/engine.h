// Engine and Plan: the entry points. An Engine owns a backend, the binary cache and the tuning
// database; engine.plan(problem) picks the Configs (tuned, cached or heuristic) and returns a Plan
// that runs forward/backward for that problem as many times as the caller likes.
//
// A Plan holds one Config per pass direction: forward() runs config(), backward() runs
// backward_config(). The best configs of the two directions need not agree, not even in their
// algorithm (backward scatters into grad_x and runs different GEMMs), so each direction is tuned on its
// own (tuner/selector.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dcnjit/args.h"
#include "dcnjit/config.h"
#include "dcnjit/error.h"
#include "dcnjit/options.h"
#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"

namespace dcnjit {

namespace detail {
class BackendImpl;
}

class Plan {
 public:
  const Problem& problem() const { return problem_; }
  // The config forward() runs.
  const Config& config() const { return config_; }
  // The config backward() runs (every gradient of one backward call, whichever subset is asked for).
  const Config& backward_config() const { return backward_config_; }
  Backend backend() const;
  // Scratch the passes need (column buffers, GEMM workspace), under either config. Passing a
  // workspace of at least this size avoids internal allocation; otherwise the plan allocates (and
  // keeps) its own.
  std::size_t workspace_size() const;

  void forward(const ForwardArgs& args) const;
  void backward(const BackwardArgs& args) const;

  // Configs must be resolved and valid for the backend (Engine::plan does that); the first form runs
  // `config` in both directions.
  Plan(Problem problem, Config config, std::shared_ptr<detail::BackendImpl> backend);
  Plan(Problem problem, Config forward_config, Config backward_config, std::shared_ptr<detail::BackendImpl> backend);

 private:
  Problem problem_;
  Config config_;
  Config backward_config_;
  std::shared_ptr<detail::BackendImpl> backend_;
};

// Memory on the engine's device (host memory for the cpu and sim backends, GPU memory for cuda).
// Owns its allocation; movable, not copyable.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&&) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&&) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  std::size_t size() const { return bytes_; }
  // host -> buffer and buffer -> host (bytes <= size()), complete on return. On cuda the copy is
  // enqueued on `stream` (a CUstream; null: the default stream) after the engine's earlier passes on any
  // stream, so it is ordered with the caller's work on that stream too.
  void upload(const void* host, std::size_t bytes, void* stream = nullptr);
  void download(void* host, std::size_t bytes, void* stream = nullptr) const;
  // A TensorRef over this buffer (device set to the backend's); throws if the shape does not fit.
  TensorRef tensor(DType dtype, std::initializer_list<int64_t> shape) const;

  DeviceBuffer(std::shared_ptr<detail::BackendImpl> backend, std::size_t bytes);

 private:
  std::shared_ptr<detail::BackendImpl> backend_;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  const EngineOptions& options() const;

  // Device memory for the tensors of this engine's backend (zero-filled).
  DeviceBuffer allocate(std::size_t bytes);

  // Validates the problem and selects the forward and backward configs according to the tuning
  // policy (off: the heuristic default for both; cache_only / on_first_use: the database's winners).
  Plan plan(const Problem& problem);
  // A plan that runs `config` in both directions: an empty algorithm is the backend's default for the
  // problem, knobs the config leaves out take their defaults, and every knob is checked against the
  // algorithm's knob table (Error(InvalidArgument) naming the knob and its allowed values).
  Plan plan(const Problem& problem, const Config& config);
  // A plan with explicit configs per direction, each resolved and validated as above; the error
  // names which one ("forward config: ..." / "backward config: ...").
  Plan plan(const Problem& problem, const Config& forward_config, const Config& backward_config);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcnjit
