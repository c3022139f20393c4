// dcn::PixelMap: where the deterministic col2im's map lives (algorithms/gather/pixel_map.cuh builds and
// reads it). Plain data shared by the host launch code, the sim backend and the device code (built-in
// types only: NVRTC has no standard headers); both the im2col and the fused algorithm embed one in their
// parameter struct, and the map's own kernels (scan, sort) read nothing else.
//
// The map pixels q are (image, offset group, input pixel) of one chunk, q = (image * og + group) * H*W +
// y*W + x; an entry is one (work item, bilinear corner) that adds to q. Counts and keys are unsigned of
// the kernels' index width (32 or 64 bits), weights are the compute type (f32, or f64 for f64 problems).
#pragma once

namespace dcn {

// Rows of block_threads counts that one block of the scan covers: a tile is block_threads * kMapScanRows
// map pixels (the host sizes tile_sums with it, algorithms/gather/pixel_map_layout.cpp).
constexpr int kMapScanRows = 8;

// Channels a gather thread sums at a time (its accumulators; each entry's key and weight are read once
// per batch), and entries whose loads it issues together: kGatherEntries keys and weights, then
// kGatherEntries x batch dcol loads in flight (docs/perf.md, "Loads in flight"). The host sizes the
// gathers' grids with the batch.
constexpr int kGatherBatch = 4;
constexpr int kGatherEntries = 4;

struct PixelMap {
  void* counts;      // [pixels + 1]: entries per pixel (the count kernel), then fill cursors (the scan)
  void* starts;      // [pixels + 1]: each pixel's first entry; [pixels] = all entries
  void* tile_sums;   // [ceil((pixels + 1) / tile)]: entries per scan tile, then their prefix sums
  void* keys;        // [entries]: the entry's sort key, column * 4 + corner (unique within the chunk)
  void* weights;     // [entries] compute type: the factor of the entry's dcol value (m * w_k)
  long long pixels;  // map pixels of this chunk
  int scan_phase;    // the scan: 0 tile sums, 1 their prefix (one block), 2 each pixel's start
};

}  // namespace dcn
