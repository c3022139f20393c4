#include "algorithms/im2col/im2col_workspace.h"

#include "algorithms/im2col/im2col_kernels.h"

namespace dcnjit::algo::im2col {

namespace {

constexpr std::size_t kAlignment = 256;  // cuBLASLt and vector loads like aligned operands

std::size_t align_up(std::size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

WorkspaceLayout WorkspaceLayout::of(const Problem& problem, int step) {
  const std::size_t chunk = std::size_t(step);
  const std::size_t element = dtype_size(problem.dtype);
  const std::size_t taps = std::size_t(problem.taps());
  const std::size_t pixels = std::size_t(problem.Ho() * problem.Wo());
  const std::size_t column_bytes = align_up(chunk * std::size_t(problem.C) * taps * pixels * element);
  const bool accumulators = uses_f32_accumulators(problem);
  const std::size_t weight_elements = std::size_t(problem.Co) * std::size_t(problem.C / problem.groups) * taps;

  WorkspaceLayout layout;
  std::size_t offset = 0;
  layout.columns = offset;
  offset += column_bytes;
  layout.forward_bytes = offset;
  layout.grad_columns = offset;
  offset += column_bytes;
  layout.grad_x_accum = offset;
  if (accumulators) offset += align_up(chunk * std::size_t(problem.C * problem.H * problem.W) * sizeof(float));
  layout.weight_partials = offset;
  if (accumulators) offset += align_up(chunk * weight_elements * element);
  layout.weight_accum = offset;
  if (accumulators) offset += align_up(weight_elements * sizeof(float));
  layout.total_bytes = offset;
  return layout;
}

}  // namespace dcnjit::algo::im2col
