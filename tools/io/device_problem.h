// Runs the arrays of a ProblemArrays through the public API on any backend: uploads the float32 host
// arrays into DeviceBuffers in the problem's dtype (f16/bf16 rounded to nearest even on the host; a finite
// value the dtype cannot hold is Error(InvalidArgument) naming the tensor, never a silent Inf),
// allocates the outputs, and downloads results back to float32. Shared by `dcnjit run`, `dcnjit bench`,
// `dcnjit profile`, the benchmarks and the golden tests, so every backend is driven exactly the same way.
#pragma once

#include <functional>
#include <optional>

#include "dcnjit/engine.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::io {

// Float32 results of one forward (and optionally backward) pass.
struct ProblemResults {
  HostArray y;
  // Present after a backward pass; grad_mask / grad_bias only when the problem has a mask / bias.
  std::optional<HostArray> grad_x, grad_offset, grad_weight, grad_mask, grad_bias;
};

class DeviceProblem {
 public:
  // Device memory of the backend under test: Engine::allocate, or a DeviceBuffer over a BackendImpl
  // held directly (the profiler's Session, which needs the BackendImpl to attach a PhaseSink).
  using Allocator = std::function<DeviceBuffer(std::size_t bytes)>;

  // Uploads the inputs; allocates y and, with `backward`, every gradient the problem has.
  // `backward` needs arrays.grad_y.
  DeviceProblem(const ProblemArrays& arrays, bool backward, const Allocator& allocate);
  DeviceProblem(Engine& engine, const ProblemArrays& arrays, bool backward);

  const Problem& problem() const { return problem_; }
  ForwardArgs forward_args() const;
  BackwardArgs backward_args() const;  // requests every gradient that was allocated

  // Downloads y and, if this DeviceProblem was made for backward, the gradients.
  ProblemResults download() const;

 private:
  Problem problem_;
  bool backward_;
  DeviceBuffer x_, offset_, mask_, weight_, bias_, grad_y_;
  DeviceBuffer y_, grad_x_, grad_offset_, grad_mask_, grad_weight_, grad_bias_;
};

// Plans the problem on `engine`, runs forward (and backward) once and returns the results.
ProblemResults run_problem(Engine& engine, const ProblemArrays& arrays, bool backward);

// Host conversions between float32 and the element type of `dtype`, as raw bytes.
std::vector<std::byte> encode(const std::vector<float>& values, DType dtype);
std::vector<float> decode(const std::vector<std::byte>& bytes, DType dtype);

}  // namespace dcnjit::io
