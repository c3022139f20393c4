#include "algorithms/im2col/im2col_workspace.h"

#include "algorithms/im2col/im2col_kernels.h"
#include "algorithms/im2col/sampling_params.cuh"
#include "algorithms/workspace_regions.h"
#include "core/checked_size.h"

namespace dcnjit::algo::im2col {

int64_t column_pitch(const Problem& problem) {
  const int64_t row = problem.layout == Layout::nhwc ? problem.C * problem.taps() : problem.Ho() * problem.Wo();
  return (row + 7) / 8 * 8;
}

WorkspaceLayout WorkspaceLayout::of(const Problem& problem, int step, int gather_threads) {
  const int64_t chunk = step;
  const std::size_t element = dtype_size(problem.dtype);
  const int64_t taps = problem.taps();
  // Rows of one image: C*taps rows of the pitch (NCHW), or Ho*Wo rows (NHWC).
  const int64_t rows = problem.layout == Layout::nhwc ? problem.Ho() * problem.Wo() : problem.C * taps;
  const std::size_t column_bytes =
      region_bytes("workspace: columns", {chunk, rows, column_pitch(problem)}, element);
  const bool accumulators = uses_f32_accumulators(problem);
  const bool gather = gather_threads > 0;
  const int64_t Cg = problem.C / problem.groups;

  WorkspaceLayout layout;
  std::size_t offset = 0;
  auto add = [&](std::size_t bytes) { offset = detail::checked_sum("workspace", offset, bytes); };
  layout.columns = offset;
  add(column_bytes);
  layout.forward_bytes = offset;
  layout.grad_columns = offset;
  add(column_bytes);
  layout.grad_x_accum = offset;
  if (accumulators && !gather)
    add(region_bytes("workspace: grad_x accumulators", {chunk, problem.C, problem.H, problem.W}, sizeof(float)));
  layout.weight_accum = offset;
  if (accumulators) add(region_bytes("workspace: weight accumulators", {problem.Co, Cg, taps}, sizeof(float)));
  if (gather) {
    // Counters as wide as the kernels' indices (CountOf in algorithms/gather/pixel_map.cuh).
    const char* what = "workspace: col2im map";
    const int64_t pixels = detail::checked_product(what, {chunk, problem.offset_groups, problem.H, problem.W});
    const int64_t entries =
        detail::checked_product(what, {4, chunk, problem.offset_groups, taps, problem.Ho(), problem.Wo()});
    const bool index64 = needs_64bit_index(problem, step);
    layout.map = gather::PixelMapLayout::place(offset, pixels, entries, gather_threads, index64, problem.dtype);
  }
  layout.total_bytes = offset;
  return layout;
}

}  // namespace dcnjit::algo::im2col
