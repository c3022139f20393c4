// Engine and Plan: the entry points. An Engine owns a backend, the binary cache and the tuning
// database; engine.plan(problem) picks the Configs (tuned, cached or heuristic) and returns a Plan
// that runs forward/backward for that problem as many times as the caller likes.
//
// A Plan holds one Config per pass direction: forward() runs config(), backward() runs
// backward_config(). The best configs of the two directions need not agree (backward scatters into
// grad_x with atomics and runs different GEMMs, so its best im2col step, block size or elements per
// thread can differ from the forward's), so each direction is tuned on its own (tuner/selector.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dcnjit/config.h"
#include "dcnjit/error.h"
#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"

namespace dcnjit {

enum class TuningPolicy {
  off,           // heuristic default config; never touches the tuning database
  on_first_use,  // look up the database; on a miss tune, persist, then run
  cache_only,    // use the database when it has an entry, else the heuristic; never tune
};
const char* to_string(TuningPolicy policy);

struct EngineOptions {
  Backend backend = Backend::cpu;
  int threads = 0;                    // CPU threads (cpu backend, sim blocks); 0 = all cores
  std::string cache_path;             // "" = $DCNJIT_CACHE, $XDG_CACHE_HOME/dcnjit/cache.sqlite, ~/.cache/...
  TuningPolicy tuning = TuningPolicy::off;
  double tune_budget_s = 20.0;        // wall-clock budget per problem and pass when tuning
  int device = 0;                     // CUDA device ordinal
};

struct ForwardArgs {
  TensorRef x, offset, mask, weight, bias;  // mask/bias may be absent (data == nullptr)
  TensorRef y;
  void* stream = nullptr;                   // CUstream for the cuda backend
  void* workspace = nullptr;                // optional caller scratch of Plan::workspace_size() bytes
  std::size_t workspace_bytes = 0;
};

struct BackwardArgs {
  TensorRef x, offset, mask, weight;  // the forward inputs (mask optional)
  TensorRef grad_y;
  // Outputs: any subset; a target with data == nullptr is not computed.
  TensorRef grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
  void* stream = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

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
  void upload(const void* host, std::size_t bytes);    // host -> buffer (bytes <= size())
  void download(void* host, std::size_t bytes) const;  // buffer -> host
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
  // A plan that runs `config` in both directions. im2col_step 0 is resolved to the heuristic's; the
  // config is validated against the backend's space (Error(InvalidArgument) naming the field).
  Plan plan(const Problem& problem, const Config& config);
  // A plan with explicit configs per direction, each resolved and validated as above; the error
  // names which one ("forward config: ..." / "backward config: ...").
  Plan plan(const Problem& problem, const Config& forward_config, const Config& backward_config);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcnjit
