#include "algorithms/gather/pixel_map_layout.h"

#include <fmt/format.h>

#include "algorithms/shared_kernels.h"
#include "algorithms/workspace_regions.h"
#include "core/checked_size.h"

namespace dcnjit::algo::gather {

PixelMapLayout PixelMapLayout::place(std::size_t& offset, int64_t pixels, int64_t entries, int threads, bool index64,
                                     DType dtype) {
  const char* what = "workspace: col2im map";
  PixelMapLayout layout;
  layout.count_bytes = index64 ? 8 : 4;
  layout.pixels = pixels;
  layout.entries = entries;
  const int64_t tile = int64_t(threads) * dcn::kMapScanRows;
  layout.tiles = (pixels + 1 + tile - 1) / tile;
  const std::size_t compute_bytes = dtype == DType::f64 ? 8 : 4;
  // Every segment is a whole number of aligned blocks (algorithms/workspace_regions.h), so each starts
  // aligned as the workspace regions before it do: the weights hold 8-byte doubles for f64, and after
  // pixels + 1 unrounded counters they were misaligned (UBSan).
  auto add = [&](std::size_t& at, int64_t elements, std::size_t element_bytes) {
    at = offset;
    const std::size_t bytes = aligned_bytes(what, detail::checked_bytes(what, elements, element_bytes));
    offset = detail::checked_sum(what, offset, bytes);
  };
  add(layout.counts, pixels + 1, layout.count_bytes);
  add(layout.tile_sums, layout.tiles, layout.count_bytes);
  add(layout.starts, pixels + 1, layout.count_bytes);
  add(layout.keys, entries, layout.count_bytes);
  add(layout.weights, entries, compute_bytes);
  return layout;
}

dcn::PixelMap PixelMapLayout::at(char* workspace, int64_t chunk_pixels) const {
  dcn::PixelMap map{};
  map.counts = workspace + counts;
  map.tile_sums = workspace + tile_sums;
  map.starts = workspace + starts;
  map.keys = workspace + keys;
  map.weights = workspace + weights;
  map.pixels = chunk_pixels;
  map.scan_phase = 0;
  return map;
}

gen::KernelSpec map_kernel(DType dtype, bool index64, int threads, bool scan, const char* family, const char* header,
                           const char* function, const char* params_type) {
  gen::KernelSpec spec;
  spec.family = family;
  spec.summary = scan ? "entries per input pixel -> each pixel's first entry (prefix sum, 3 launches)"
                      : "each input pixel's entries ordered by column (a fixed summation order)";
  spec.header = header;
  spec.function = function;
  spec.spec_template = "dcn::MapSpec";
  spec.arguments = {dtype_argument(dtype), index_argument(index64), threads_argument(threads)};
  spec.params_type = params_type;
  spec.details = {storage_detail(dtype), fmt::format("indexing  {}-bit", index64 ? 64 : 32),
                  scan ? fmt::format("launch    {} threads per block, tiles of {} pixels, block-stride", threads,
                                     threads * dcn::kMapScanRows)
                       : fmt::format("launch    {} threads per block, one pixel per thread, grid-stride", threads)};
  spec.block_threads = threads;
  return spec;
}

}  // namespace dcnjit::algo::gather
