#include "algorithms/fused/fused_workspace.h"

#include "algorithms/fused/fused_kernels.h"
#include "algorithms/workspace_regions.h"
#include "core/checked_size.h"

namespace dcnjit::algo::fused {

WorkspaceLayout WorkspaceLayout::of(const Problem& p, const FusedKnobs& k) {
  const std::size_t element = dtype_size(p.dtype);
  const int64_t Cg = p.C / p.groups, Cog = p.Co / p.groups, taps = p.taps(), P = p.Ho() * p.Wo();
  const KernelContext context = kernel_context(p, k, MmaKind::ffma);
  const int64_t slots = context.coord_slots;
  const int64_t images = k.gather ? k.step : p.N;  // per launch of the data gradient
  WorkspaceLayout layout;
  std::size_t offset = 0;
  auto add = [&](std::size_t& at, std::size_t bytes) {
    at = offset;
    offset = detail::checked_sum("workspace", offset, bytes);
  };
  add(layout.weight_rows, region_bytes("workspace: permuted weights", {p.Co, weight_pitch(Cg * taps)}, element));
  layout.forward_bytes = offset;
  add(layout.weight_columns,
      region_bytes("workspace: transposed weights", {p.groups, taps, Cg, weight_pitch(Cog)}, element));
  add(layout.grad_x_accum, uses_f32_accumulators(p) && !k.gather
                               ? region_bytes("workspace: grad_x accumulators", {p.N, p.C, p.H, p.W}, sizeof(float))
                               : 0);
  add(layout.coord_partials,
      region_bytes("workspace: coordinate partial sums", {slots, images, p.offset_groups, taps, 5, P}, sizeof(float)));
  add(layout.weight_partials,
      k.split > 1 ? region_bytes("workspace: weight partial sums", {k.split, p.Co, Cg, taps}, sizeof(float)) : 0);
  if (k.gather) {
    add(layout.grad_columns, region_bytes("workspace: column gradient", {images, P, p.C, taps}, sizeof(float)));
    const int64_t pixels = detail::checked_product("workspace: col2im map", {images, p.offset_groups, p.H, p.W});
    const int64_t entries = detail::checked_product("workspace: col2im map", {4, images, p.offset_groups, taps, P});
    layout.map = gather::PixelMapLayout::place(offset, pixels, entries, kGatherThreads, needs_64bit_indices(context),
                                               p.dtype);
  }
  layout.total_bytes = offset;
  return layout;
}

}  // namespace dcnjit::algo::fused
