#include "runtime/pipeline/workspace_layout.h"

#include "runtime/checked_size.h"

namespace dcnjit::detail {

namespace {

constexpr std::size_t kAlignment = 256;  // cuBLASLt and vector loads like aligned operands

// Sizes are checked (runtime/checked_size.h): a chunk of im2col_step images can overflow where one
// image does not.
std::size_t region_bytes(const char* what, std::initializer_list<int64_t> factors, std::size_t element) {
  const std::size_t bytes = checked_bytes(what, checked_product(what, factors), element);
  return checked_sum(what, bytes, kAlignment - 1) / kAlignment * kAlignment;
}

}  // namespace

WorkspaceLayout WorkspaceLayout::of(const Problem& problem, int im2col_step) {
  const int64_t step = im2col_step;
  const std::size_t element = dtype_size(problem.dtype);
  const int64_t taps = problem.taps();
  const int64_t Ho = problem.Ho(), Wo = problem.Wo();
  const std::size_t column_bytes = region_bytes("workspace: columns", {step, problem.C, taps, Ho, Wo}, element);
  const bool f32_accumulators = problem.dtype != DType::f32;
  const int64_t Cg = problem.C / problem.groups;

  WorkspaceLayout layout;
  std::size_t offset = 0;
  auto add = [&](std::size_t bytes) { offset = checked_sum("workspace", offset, bytes); };
  layout.columns = offset;
  add(column_bytes);
  layout.forward_bytes = offset;
  layout.grad_columns = offset;
  add(column_bytes);
  layout.grad_x_accum = offset;
  if (f32_accumulators)
    add(region_bytes("workspace: grad_x accumulators", {step, problem.C, problem.H, problem.W}, sizeof(float)));
  layout.weight_partials = offset;
  if (f32_accumulators) add(region_bytes("workspace: weight partials", {step, problem.Co, Cg, taps}, element));
  layout.weight_accum = offset;
  if (f32_accumulators) add(region_bytes("workspace: weight accumulators", {problem.Co, Cg, taps}, sizeof(float)));
  layout.total_bytes = offset;
  return layout;
}

}  // namespace dcnjit::detail
