#include "runtime/cpu/dcn_cpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "dcnjit/error.h"
#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/dcn_cpu_kernels.h"
#include "core/checked_size.h"
#include "runtime/cpu/phase_totals.h"
#include "core/host_memory.h"

namespace dcnjit::cpu {
namespace {

// The config resolved against the problem.
struct Tiling {
  int64_t step;  // images per chunk
  int64_t tile;  // output pixels per tile
};

Tiling resolve_tiling(const Problem& problem, const CpuConfig& config) {
  if (config.im2col_step < 1)
    throw Error(ErrorCode::InvalidArgument, fmt::format("im2col_step={} must be >= 1", config.im2col_step));
  if (config.pixel_tile < 0)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("cpu_pixel_tile={} must not be negative (0 = whole image)", config.pixel_tile));
  const int64_t pixels = problem.Ho() * problem.Wo();
  return {std::min(config.im2col_step, problem.N),
          config.pixel_tile == 0 ? pixels : std::min(config.pixel_tile, pixels)};
}

// Element counts of the workspace regions, laid out one after the other:
//   forward:  col | x_channels_last | weight_permuted
//   backward: col | x_channels_last | weight_permuted | dcol | partials | grad_x_channels_last |
//             grad_weight_permuted
struct WorkspaceLayout {
  int64_t col = 0;              // [step][C*K*tile] column rows by segment (dcn_cpu_kernels.h)
  int64_t x_channels_last = 0;  // [step][H*W][C]
  int64_t weight_permuted = 0;  // [Co][C/groups*K] by segment
  int64_t dcol = 0;             // same shape as col: grad_y^T W, backward segments
  int64_t partials = 0;         // [step][blocks][K][3][tile] coordinate-gradient partial sums

  int64_t forward_elements() const { return col + x_channels_last + weight_permuted; }
  int64_t backward_elements() const { return forward_elements() + dcol + partials + x_channels_last + weight_permuted; }
};

// Checked products (core/checked_size.h): a chunk of images can overflow where one image does not.
WorkspaceLayout workspace_layout(const Problem& problem, const Tiling& tiling) {
  const ConvGeometry g = ConvGeometry::of(problem);
  WorkspaceLayout layout;
  layout.col = detail::checked_product("cpu workspace: columns", {tiling.step, g.C, g.K, tiling.tile});
  layout.x_channels_last = detail::checked_product("cpu workspace: channels-last x", {tiling.step, g.C, g.H, g.W});
  layout.weight_permuted = g.Co * g.channels_per_group * g.K;
  layout.dcol = layout.col;
  const int64_t blocks = int64_t(channel_segments(g, kChannelBlock).size());
  layout.partials =
      detail::checked_product("cpu workspace: coordinate partials", {tiling.step, blocks, g.K, 3, tiling.tile});
  // The largest total (backward) in bytes of the widest element type, so every sum and byte count below fits.
  std::size_t total = 0;
  for (int64_t part : {layout.col, layout.x_channels_last, layout.weight_permuted, layout.dcol, layout.partials,
                       layout.x_channels_last, layout.weight_permuted})
    total = detail::checked_sum("cpu workspace", total, detail::checked_bytes("cpu workspace", part, sizeof(double)));
  return layout;
}

// The caller's workspace, or memory owned for the duration of one pass.
template <typename T>
class Scratch {
 public:
  Scratch(void* workspace, int64_t elements) {
    if (workspace) {
      data_ = static_cast<T*>(workspace);
    } else {
      const std::size_t bytes = detail::checked_bytes("cpu workspace", std::max<int64_t>(elements, 1), sizeof(T));
      detail::allocate_host("cpu workspace", bytes, [&] { owned_.reset(new T[std::max<int64_t>(elements, 1)]); });
      data_ = owned_.get();
    }
  }
  T* data() const { return data_; }

 private:
  std::unique_ptr<T[]> owned_;
  T* data_ = nullptr;
};

// Image n of the batch, its x given as the channels-last copy the sampling passes read.
template <typename T>
ImageInputs<T> image_inputs(const ConvGeometry& g, const T* x_channels_last, const T* offset, const T* mask,
                            int64_t n) {
  return {x_channels_last, offset + n * 2 * g.offset_groups * g.K * g.P,
          mask ? mask + n * g.offset_groups * g.K * g.P : nullptr};
}

// The column rows of pixels [p0, p0 + tw) of every image of a chunk, in items of one segment and
// kPixelsPerItem pixels of one image: enough work per item to amortize the pool, and enough items to
// balance any thread count.
template <typename T>
void chunk_im2col(ThreadPool& pool, const ConvGeometry& g, const std::vector<ChannelSegment>& segments,
                  const T* x_channels_last, const T* offset, const T* mask, int64_t n0, int64_t images, int64_t p0,
                  int64_t tw, T* col) {
  constexpr int64_t kPixelsPerItem = 32;
  const int64_t per_segment = (tw + kPixelsPerItem - 1) / kPixelsPerItem;
  const int64_t per_image = per_segment * int64_t(segments.size());
  pool.parallel_for(images * per_image, [&](int64_t item) {
    const int64_t n = item / per_image, within = item % per_image;
    const ChannelSegment& s = segments[std::size_t(within / per_segment)];
    const int64_t first = p0 + (within % per_segment) * kPixelsPerItem;
    im2col_segment(g, image_inputs(g, x_channels_last + n * g.C * g.H * g.W, offset, mask, n0 + n), s, p0, first,
                   std::min(first + kPixelsPerItem, p0 + tw), col + n * tw * g.C * g.K + tw * g.K * s.c_begin);
  });
}

// The channels-last copies of images [n0, n0 + images) of x, one image per work item.
template <typename T>
void chunk_to_channels_last(ThreadPool& pool, const ConvGeometry& g, const T* x, int64_t n0, int64_t images,
                            T* x_channels_last) {
  const int64_t image = g.C * g.H * g.W;
  pool.parallel_for(images, [&](int64_t n) { to_channels_last(g, x + (n0 + n) * image, x_channels_last + n * image); });
}

// Cost estimates reported with the phases (bytes: minimum DRAM traffic, reads + writes; FLOPs: multiply
// and add counted separately). Per chunk of `images` images and a tile of `tw` pixels.
struct PhaseCosts {
  const ConvGeometry& g;
  double element;  // bytes per element

  // Reads x and the offset/mask rows once, writes the columns. 7 FLOPs per column element (4 mul, 3 add;
  // the mask is folded into the weights once per sample, and the sampling itself is per sample, not per
  // element, so it is left out).
  double im2col_bytes(int64_t images, int64_t tw) const {
    const double per_image =
        g.C * g.H * g.W + g.offset_groups * g.K * tw * (g.mask ? 3.0 : 2.0) + double(g.C) * g.K * tw;
    return element * images * per_image;
  }
  double im2col_flops(int64_t images, int64_t tw) const { return 7.0 * images * g.C * g.K * tw; }
  // One GEMM of M = Co/groups, N = tw, K = C/groups * kh * kw per image and group.
  double gemm_flops(int64_t images, int64_t tw) const { return 2.0 * images * g.Co * g.channels_per_group * g.K * tw; }
  double weight_elements() const { return double(g.Co) * g.channels_per_group * g.K; }
  // Weights once, the columns (or dcol) once, the output slice once.
  double gemm_bytes(int64_t images, int64_t tw) const {
    return element * (weight_elements() + images * (double(g.C) * g.K * tw + double(g.Co) * tw));
  }
  // Reads dcol, x and offset/mask rows; grad_x is read and written; coordinate gradients are written.
  // Per column element: grad_x 8 FLOPs (4 multiply-adds into the corners), coordinates 8 (4 multiply-adds
  // of dcol * x[corner] into per-sample sums; the three dot products with the weights are per sample).
  // With fused columns, the column writes and their 7 FLOPs per element (as im2col) are added.
  double col2im_bytes(int64_t images, int64_t tw, bool grad_x, bool coord, bool columns) const {
    double per_image = double(g.C) * g.K * tw + g.C * g.H * g.W + g.offset_groups * g.K * tw * (g.mask ? 3.0 : 2.0);
    if (grad_x) per_image += 2.0 * g.C * g.H * g.W;
    if (coord) per_image += g.offset_groups * g.K * tw * (g.mask ? 3.0 : 2.0);
    if (columns) per_image += double(g.C) * g.K * tw;
    return element * images * per_image;
  }
  double col2im_flops(int64_t images, int64_t tw, bool grad_x, bool coord, bool columns) const {
    return images * double(g.C) * g.K * tw * ((grad_x ? 8.0 : 0.0) + (coord ? 8.0 : 0.0) + (columns ? 7.0 : 0.0));
  }
};

}  // namespace

std::size_t forward_workspace_bytes(const Problem& problem, const CpuConfig& config, std::size_t element_size) {
  return std::size_t(workspace_layout(problem, resolve_tiling(problem, config)).forward_elements()) * element_size;
}

std::size_t backward_workspace_bytes(const Problem& problem, const CpuConfig& config, std::size_t element_size) {
  return std::size_t(workspace_layout(problem, resolve_tiling(problem, config)).backward_elements()) * element_size;
}

// Segment s's GEMM operands within one image's tile: its column rows [tw][K * n], and its weights at
// column `weight_at` of the permuted weight rows (row stride K * Cg).
struct SegmentOperands {
  int64_t rows_at;    // element offset of the segment's rows in one image's tile columns
  int64_t weight_at;  // element offset of the segment's weights in row 0 of its group's permuted weights
  int64_t depth;      // K * n
};

SegmentOperands operands(const ConvGeometry& g, const ChannelSegment& s, int64_t tw) {
  const int64_t group_weights = s.group * g.outputs_per_group * g.channels_per_group * g.K;
  return {tw * g.K * s.c_begin, group_weights + (s.c_begin - s.group * g.channels_per_group) * g.K, g.K * s.channels()};
}

// The forward builds the columns by segment (dcn_cpu_kernels.h) from a channels-last copy of each chunk:
// every sample then feeds a unit-stride run of channels, which keeps the sampling a small share of the
// pass next to the GEMM. The copies and the weight permutation count as "im2col".
template <typename T>
void dcn_forward(const Problem& problem, const CpuConfig& config, const ForwardTensors<T>& t, const CpuContext& context,
                 void* workspace) {
  const ConvGeometry g = ConvGeometry::of(problem);
  const Tiling tiling = resolve_tiling(problem, config);
  const WorkspaceLayout layout = workspace_layout(problem, tiling);
  Scratch<T> scratch(workspace, layout.forward_elements());
  T* const col = scratch.data();
  T* const x_channels_last = col + layout.col;
  T* const weight = x_channels_last + layout.x_channels_last;
  const std::vector<ChannelSegment> segments = channel_segments(g, g.C);  // whole group x offset group
  const PhaseCosts costs{g, double(sizeof(T))};
  const int64_t cg_k = g.channels_per_group * g.K;  // permuted weight row length
  const int64_t image_plane = g.C * g.H * g.W;
  const T* const mask = g.mask ? t.mask : nullptr;
  ThreadPool& pool = context.pool;
  PhaseTotals phases(context.phases);
  set_blas_threads(pool.size());

  for (int64_t n0 = 0; n0 < problem.N; n0 += tiling.step) {
    const int64_t images = std::min(tiling.step, problem.N - n0);
    // The bias goes in first and the GEMMs accumulate on top of it (beta = 1): no extra pass over y.
    if (t.bias) {
      phases.run("bias", costs.element * (g.Co + double(images) * g.Co * g.P), double(images) * g.Co * g.P, [&] {
        constexpr int64_t kRowsPerItem = 64;  // rows of Ho*Wo outputs; keeps items coarse for small images
        const int64_t rows = images * g.Co;
        pool.parallel_for((rows + kRowsPerItem - 1) / kRowsPerItem, [&](int64_t item) {
          for (int64_t row = item * kRowsPerItem; row < std::min(rows, (item + 1) * kRowsPerItem); ++row) {
            T* out = t.y + (n0 * g.Co + row) * g.P;
            std::fill(out, out + g.P, t.bias[row % g.Co]);
          }
        });
      });
    }
    const double copied = double(images) * image_plane + (n0 == 0 ? double(layout.weight_permuted) : 0.0);
    phases.run("im2col", costs.element * 2 * copied, 0, [&] {
      if (n0 == 0) weight_to_segments(g, segments, t.weight, weight);
      chunk_to_channels_last(pool, g, t.x, n0, images, x_channels_last);
    });
    for (int64_t p0 = 0; p0 < g.P; p0 += tiling.tile) {
      const int64_t tw = std::min(tiling.tile, g.P - p0);
      phases.run("im2col", costs.im2col_bytes(images, tw), costs.im2col_flops(images, tw),
                 [&] { chunk_im2col(pool, g, segments, x_channels_last, t.offset, mask, n0, images, p0, tw, col); });
      phases.run("gemm_forward", costs.gemm_bytes(images, tw), costs.gemm_flops(images, tw), [&] {
        for (int64_t n = 0; n < images; ++n) {
          int64_t previous_group = -1;
          for (const ChannelSegment& s : segments) {
            // y_group (Co_g x tw) (+)= W'_s (Co_g x K*n) * rows_s^T (K*n x tw); a group's later segments
            // (offset groups inside it) accumulate.
            const SegmentOperands op = operands(g, s, tw);
            const bool first_of_group = s.group != previous_group;
            previous_group = s.group;
            const GemmShape shape{false, true, g.outputs_per_group, tw, op.depth, cg_k, op.depth, g.P};
            gemm<T>(shape, T(1), weight + op.weight_at, col + n * tw * g.C * g.K + op.rows_at,
                    t.bias || !first_of_group ? T(1) : T(0),
                    t.y + ((n0 + n) * g.Co + s.group * g.outputs_per_group) * g.P + p0);
          }
        }
      });
    }
  }
  phases.report();
}

// The backward works in the same layout with blocks of at most kChannelBlock channels: dcol rows =
// grad_y^T W' per block, one fused pass over them per block (scatter into a channels-last grad_x,
// coordinate partial sums, column recompute), grad_W' += grad_y rows, and the layout copies back at the
// end. Copies count toward the phase that needs them.
template <typename T>
void dcn_backward(const Problem& problem, const CpuConfig& config, const BackwardTensors<T>& t,
                  const CpuContext& context, void* workspace) {
  const ConvGeometry g = ConvGeometry::of(problem);
  const Tiling tiling = resolve_tiling(problem, config);
  const WorkspaceLayout layout = workspace_layout(problem, tiling);
  Scratch<T> scratch(workspace, layout.backward_elements());
  T* const col = scratch.data();
  T* const x_channels_last = col + layout.col;
  T* const weight = x_channels_last + layout.x_channels_last;
  T* const dcol = weight + layout.weight_permuted;
  T* const partials = dcol + layout.dcol;
  T* const grad_x_channels_last = partials + layout.partials;
  T* const grad_weight = grad_x_channels_last + layout.x_channels_last;
  const std::vector<ChannelSegment> blocks = channel_segments(g, kChannelBlock);
  const int64_t block_count = int64_t(blocks.size());
  const PhaseCosts costs{g, double(sizeof(T))};
  const int64_t cg_k = g.channels_per_group * g.K;
  const int64_t image_columns = g.C * g.K;  // per pixel of a tile
  const int64_t image_plane = g.C * g.H * g.W;
  const T* const mask = g.mask ? t.mask : nullptr;
  T* const grad_mask = g.mask ? t.grad_mask : nullptr;
  const bool want_coord = t.grad_offset || grad_mask;
  const bool want_dcol = t.grad_x || want_coord;
  const bool reads_x = want_coord || t.grad_weight;  // grad_x alone needs only the samples, not x
  ThreadPool& pool = context.pool;
  PhaseTotals phases(context.phases);
  set_blas_threads(pool.size());

  if (t.grad_bias) {
    const double elements = double(problem.N) * g.Co * g.P;
    phases.run("bias_grad", costs.element * (elements + g.Co), elements, [&] {
      pool.parallel_for(g.Co, [&](int64_t o) {
        double sum = 0;  // double accumulation: N * Ho * Wo terms
        for (int64_t n = 0; n < problem.N; ++n) {
          const T* row = t.grad_y + (n * g.Co + o) * g.P;
          for (int64_t p = 0; p < g.P; ++p) sum += double(row[p]);
        }
        t.grad_bias[o] = T(sum);
      });
    });
  }
  if (!want_dcol && !t.grad_weight) {
    phases.report();
    return;
  }

  const double weight_copy_bytes = costs.element * 2 * double(layout.weight_permuted);
  for (int64_t n0 = 0; n0 < problem.N; n0 += tiling.step) {
    const int64_t images = std::min(tiling.step, problem.N - n0);
    const bool first_chunk = n0 == 0;
    // What each chunk starts with: the channels-last x (when read) and a zeroed channels-last grad_x
    // (when wanted). Done in the chunk's first sampling phase.
    auto prepare_chunk = [&] {
      if (reads_x) chunk_to_channels_last(pool, g, t.x, n0, images, x_channels_last);
      if (t.grad_x)
        pool.parallel_for(images, [&](int64_t n) {
          std::fill(grad_x_channels_last + n * image_plane, grad_x_channels_last + (n + 1) * image_plane, T(0));
        });
    };
    const double prepare_bytes =
        costs.element * double(images) * image_plane * ((reads_x ? 2 : 0) + (t.grad_x ? 1 : 0));
    for (int64_t p0 = 0; p0 < g.P; p0 += tiling.tile) {
      const int64_t tw = std::min(tiling.tile, g.P - p0);
      const bool first_tile = p0 == 0;
      auto grad_y_slice = [&](int64_t n, int64_t group) {
        return t.grad_y + ((n0 + n) * g.Co + group * g.outputs_per_group) * g.P + p0;
      };
      auto weight_gemms = [&] {
        phases.run("gemm_weight", costs.gemm_bytes(images, tw) + costs.element * costs.weight_elements(),
                   costs.gemm_flops(images, tw), [&] {
                     if (first_chunk && first_tile) std::fill(grad_weight, grad_weight + layout.weight_permuted, T(0));
                     for (int64_t n = 0; n < images; ++n) {
                       for (const ChannelSegment& s : blocks) {
                         // grad_W'_s (Co_g x K*n) += grad_y_g (Co_g x tw) * rows_s (tw x K*n)
                         const SegmentOperands op = operands(g, s, tw);
                         const GemmShape shape{false, false, g.outputs_per_group, op.depth, tw, g.P, op.depth, cg_k};
                         gemm<T>(shape, T(1), grad_y_slice(n, s.group), col + n * tw * image_columns + op.rows_at, T(1),
                                 grad_weight + op.weight_at);
                       }
                     }
                   });
      };
      if (!want_dcol) {
        // Only grad_weight: recompute the columns (the backend keeps no state between passes).
        phases.run("im2col", costs.im2col_bytes(images, tw) + (first_tile ? prepare_bytes : 0),
                   costs.im2col_flops(images, tw), [&] {
                     if (first_tile) prepare_chunk();
                     chunk_im2col(pool, g, blocks, x_channels_last, t.offset, mask, n0, images, p0, tw, col);
                   });
        weight_gemms();
        continue;
      }
      phases.run("gemm_dcol", costs.gemm_bytes(images, tw) + (first_chunk && first_tile ? weight_copy_bytes : 0),
                 costs.gemm_flops(images, tw), [&] {
                   if (first_chunk && first_tile) weight_to_segments(g, blocks, t.weight, weight);
                   for (int64_t n = 0; n < images; ++n) {
                     for (const ChannelSegment& s : blocks) {
                       // dcol rows_s (tw x K*n) = grad_y_g^T (tw x Co_g) * W'_s (Co_g x K*n)
                       const SegmentOperands op = operands(g, s, tw);
                       const GemmShape shape{true, false, tw, op.depth, g.outputs_per_group, g.P, cg_k, op.depth};
                       gemm<T>(shape, T(1), grad_y_slice(n, s.group), weight + op.weight_at, T(0),
                               dcol + n * tw * image_columns + op.rows_at);
                     }
                   }
                 });
      // One pass over dcol per block: col2im into grad_x, the coordinate partial sums and, when
      // grad_weight is wanted, the column recompute (it gathers the same x values).
      const bool fused_columns = t.grad_weight != nullptr;
      phases.run("col2im_coord",
                 costs.col2im_bytes(images, tw, t.grad_x, want_coord, fused_columns) + (first_tile ? prepare_bytes : 0),
                 costs.col2im_flops(images, tw, t.grad_x, want_coord, fused_columns), [&] {
                   if (first_tile) prepare_chunk();
                   const int64_t partials_per_block = g.K * 3 * tw;
                   pool.parallel_for(images * block_count, [&](int64_t item) {
                     const int64_t n = item / block_count;
                     const ChannelSegment& s = blocks[std::size_t(item % block_count)];
                     const int64_t rows_at = n * tw * image_columns + operands(g, s, tw).rows_at;
                     col2im_coord_segment(g, image_inputs(g, x_channels_last + n * image_plane, t.offset, mask, n0 + n),
                                          s, p0, tw, dcol + rows_at,
                                          t.grad_x ? grad_x_channels_last + n * image_plane : nullptr,
                                          want_coord ? partials + item * partials_per_block : nullptr,
                                          fused_columns ? col + rows_at : nullptr);
                   });
                   if (want_coord) {
                     // Sum each offset group's blocks in channel order: the same result for any thread count.
                     pool.parallel_for(images * g.offset_groups, [&](int64_t image_group) {
                       const int64_t n = image_group / g.offset_groups, og = image_group % g.offset_groups;
                       int64_t first = 0, count = 0;
                       for (int64_t b = 0; b < block_count; ++b) {
                         if (blocks[std::size_t(b)].og != og) continue;
                         if (count++ == 0) first = b;
                       }
                       reduce_coord_partials(
                           g, image_inputs(g, x_channels_last + n * image_plane, t.offset, mask, n0 + n), og, p0, tw,
                           count, partials + (n * block_count + first) * partials_per_block,
                           t.grad_offset ? t.grad_offset + (n0 + n) * 2 * g.offset_groups * g.K * g.P : nullptr,
                           grad_mask ? grad_mask + (n0 + n) * g.offset_groups * g.K * g.P : nullptr);
                     });
                   }
                   if (t.grad_x && p0 + tw == g.P) {
                     // The chunk's last tile: grad_x is complete, back to NCHW.
                     pool.parallel_for(images, [&](int64_t n) {
                       from_channels_last(g, grad_x_channels_last + n * image_plane, t.grad_x + (n0 + n) * image_plane);
                     });
                   }
                 });
      if (t.grad_weight) weight_gemms();
    }
  }
  if (t.grad_weight)
    phases.run("gemm_weight", weight_copy_bytes, 0,
               [&] { weight_from_segments(g, blocks, grad_weight, t.grad_weight); });
  phases.report();
}

template void dcn_forward<float>(const Problem&, const CpuConfig&, const ForwardTensors<float>&, const CpuContext&,
                                 void*);
template void dcn_forward<double>(const Problem&, const CpuConfig&, const ForwardTensors<double>&, const CpuContext&,
                                  void*);
template void dcn_backward<float>(const Problem&, const CpuConfig&, const BackwardTensors<float>&, const CpuContext&,
                                  void*);
template void dcn_backward<double>(const Problem&, const CpuConfig&, const BackwardTensors<double>&, const CpuContext&,
                                   void*);

}  // namespace dcnjit::cpu
