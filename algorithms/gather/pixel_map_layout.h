// The host side of the deterministic col2im's map (algorithms/gather/pixel_map.cuh), shared by the
// algorithms that gather grad_x (im2col with atomic=gather, fused with atomic=gather): where the map
// lives in the workspace, the spec of its scan and sort kernels, and the launches that build it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "algorithms/gather/pixel_map_params.cuh"
#include "algorithms/launch_context.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo::gather {

struct PixelMapLayout {
  // Byte offsets into the workspace, each 256-byte aligned. One fill_zero per chunk clears the counters
  // (the bytes from counts to tile_sums).
  std::size_t counts = 0;     // [pixels + 1] counters, then the fill cursors
  std::size_t tile_sums = 0;  // [tiles] per scan tile of `threads` * dcn::kMapScanRows pixels
  std::size_t starts = 0;     // [pixels + 1]
  std::size_t keys = 0;       // [entries] counters: column * 4 + corner
  std::size_t weights = 0;    // [entries] compute type (f32, f64 for f64): m * w_k
  int64_t pixels = 0, tiles = 0;
  int64_t entries = 0;        // at most: every corner of every work item of a chunk
  std::size_t count_bytes = 0;  // 4, or 8 with 64-bit indices (CountOf in pixel_map.cuh)

  // Places the map of a chunk with `pixels` map pixels and at most `entries` entries at `offset` (an
  // aligned offset, advanced past it; sizes checked, segments of whole aligned blocks:
  // algorithms/workspace_regions.h), scanned by blocks of `threads`.
  static PixelMapLayout place(std::size_t& offset, int64_t pixels, int64_t entries, int threads, bool index64,
                              DType dtype);
  // The map of a chunk of `pixels` (at most the layout's) map pixels in `workspace`.
  dcn::PixelMap at(char* workspace, int64_t pixels) const;
};

// The spec of an algorithm's scan or sort kernel (family "..._scan" or "..._sort"), whose function
// forwards its params' map to dcn::scan_pixel_map / dcn::sort_pixel_map over dcn::MapSpec.
gen::KernelSpec map_kernel(DType dtype, bool index64, int threads, bool scan, const char* family, const char* header,
                           const char* function, const char* params_type);

// Builds the map of one chunk: zeroes the counters, then count (over the chunk's work items,
// `items_grid`), the scan's three launches, fill, and sort. `params.map` is the chunk's map.
template <class Params>
void build_pixel_map(LaunchContext& context, const PixelMapLayout& layout, const gen::KernelSpec& count,
                     const gen::KernelSpec& scan, const gen::KernelSpec& fill, const gen::KernelSpec& sort,
                     detail::LaunchDims items_grid, Params params) {
  const int64_t pixels = params.map.pixels;
  const int64_t tile = int64_t(scan.block_threads) * dcn::kMapScanRows;
  const int64_t tiles = (pixels + 1 + tile - 1) / tile;
  context.device().fill_zero(params.map.counts, layout.tile_sums - layout.counts);
  context.launch(count, items_grid, params);
  detail::LaunchDims tiles_grid = context.grid_stride(tiles, scan.block_threads, dcn::kMapScanRows);
  tiles_grid.grid[0] = unsigned(std::min<int64_t>(tiles, context.traits().max_grid_x));
  detail::LaunchDims one_block = tiles_grid;
  one_block.grid[0] = 1;
  for (int phase : {0, 1, 2}) {
    params.map.scan_phase = phase;
    context.launch(scan, phase == 1 ? one_block : tiles_grid, params);
  }
  params.map.scan_phase = 0;
  context.launch(fill, items_grid, params);
  context.launch(sort, context.grid_stride(pixels, sort.block_threads), params);
}

}  // namespace dcnjit::algo::gather
