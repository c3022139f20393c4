// Workload: the tensors of one problem living on one backend, ready to hand to forward/backward.
// `dcnjit bench`, `dcnjit profile` and the Google Benchmark suite all time passes over a Workload, so
// the three measure exactly the same thing. (io::DeviceProblem does the same through an Engine; the
// profiler needs the BackendImpl itself to attach a PhaseSink, hence this allocator-based twin.)
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dcnjit/engine.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::profile {

enum class Pass { forward, backward };
const char* to_string(Pass pass);

// FLOPs of a pass's GEMMs: 2 x MACs for the forward GEMM; the backward runs two GEMMs of that size
// (dcol = W^T dY and dW = dY col^T). Sampling work is not counted, so a GFLOP/s figure built on this
// compares directly with a dense convolution's.
double gemm_flops(const Problem& problem, Pass pass);

// Deterministic random non-zero arrays for `problem` (never time on zeros: a zero offset field turns
// bilinear sampling into integer lookups). Offsets lie in (-2, 2), as a trained DCNv2 layer's do;
// mask in (0.05, 1); weights scaled like a Kaiming-initialized layer so f16/bf16 outputs stay O(1).
io::ProblemArrays random_inputs(const Problem& problem, uint32_t seed = 1);

// Adds a random grad_y when the arrays have none (timing the backward of a --in DIR without grad_y.npy).
void ensure_grad_y(io::ProblemArrays& arrays, uint32_t seed = 2);

class Workload {
 public:
  // Device memory of the backend under test, e.g. a DeviceBuffer over the session's BackendImpl.
  using Allocator = std::function<DeviceBuffer(std::size_t bytes)>;

  // Uploads the arrays converted to arrays.problem.dtype; outputs and gradients start zeroed.
  // Needs arrays.grad_y (ensure_grad_y).
  Workload(const io::ProblemArrays& arrays, const Allocator& allocate);

  const Problem& problem() const { return problem_; }
  ForwardArgs forward_args() const;
  // Requests every gradient the problem has: x, offset, weight, and mask / bias when present.
  BackwardArgs backward_args() const;

  // The forward output y, downloaded and converted to float32.
  std::vector<float> download_y() const;

 private:
  struct Tensor {
    DeviceBuffer buffer;
    std::vector<int64_t> shape;
  };
  Tensor upload(const io::HostArray& array, const Allocator& allocate) const;
  Tensor zeros(const std::vector<int64_t>& shape, const Allocator& allocate) const;
  TensorRef ref(const Tensor& tensor) const;

  Problem problem_;
  Tensor x_, offset_, mask_, weight_, bias_, y_, grad_y_;
  Tensor grad_x_, grad_offset_, grad_mask_, grad_weight_, grad_bias_;
};

}  // namespace dcnjit::profile
