#include "runtime/cpu/dcn_cpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "dcnjit/error.h"
#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/dcn_cpu_kernels.h"
#include "runtime/cpu/phase_totals.h"

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
//   backward: col | dcol | partials
struct WorkspaceLayout {
  int64_t col = 0;              // [step][C*K][tile] sampled columns (forward: [step][tile][C*K])
  int64_t x_channels_last = 0;  // [step][H*W][C] (forward)
  int64_t weight_permuted = 0;  // [Co][K][C/groups] (forward)
  int64_t dcol = 0;             // same shape as col: W^T grad_y (backward)
  int64_t partials = 0;         // [step][og][blocks][K][3][tile] coordinate-gradient partial sums (backward)

  int64_t forward_elements() const { return col + x_channels_last + weight_permuted; }
  int64_t backward_elements() const { return col + dcol + partials; }
};

WorkspaceLayout workspace_layout(const Problem& problem, const Tiling& tiling) {
  const ConvGeometry g = ConvGeometry::of(problem);
  WorkspaceLayout layout;
  layout.col = tiling.step * g.C * g.K * tiling.tile;
  layout.x_channels_last = tiling.step * g.C * g.H * g.W;
  layout.weight_permuted = g.Co * g.channels_per_group * g.K;
  layout.dcol = layout.col;
  layout.partials = tiling.step * g.offset_groups * channel_blocks_per_offset_group(g) * g.K * 3 * tiling.tile;
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
      owned_.reset(new T[std::max<int64_t>(elements, 1)]);
      data_ = owned_.get();
    }
  }
  T* data() const { return data_; }

 private:
  std::unique_ptr<T[]> owned_;
  T* data_ = nullptr;
};

template <typename T>
ImageInputs<T> image_inputs(const ConvGeometry& g, const T* x, const T* offset, const T* mask, int64_t n) {
  return {x + n * g.C * g.H * g.W, offset + n * 2 * g.offset_groups * g.K * g.P,
          mask ? mask + n * g.offset_groups * g.K * g.P : nullptr};
}

// Work items of the sampling passes: (image of the chunk, offset group, channel block).
struct BlockItems {
  const ConvGeometry& g;
  int64_t blocks;  // channel blocks per offset group

  int64_t count(int64_t images) const { return images * g.offset_groups * blocks; }
  // Decodes item -> image in chunk, and the block's channels and offset group for pixels [p0, p0 + tw).
  int64_t image(int64_t item) const { return item / (g.offset_groups * blocks); }
  BlockRange range(int64_t item, int64_t p0, int64_t tw) const {
    const int64_t within = item % (g.offset_groups * blocks);
    BlockRange r;
    r.og = within / blocks;
    const int64_t b = within % blocks;
    r.c_begin = r.og * g.channels_per_offset_group + b * kChannelBlock;
    r.c_end = std::min(r.c_begin + kChannelBlock, (r.og + 1) * g.channels_per_offset_group);
    r.p0 = p0;
    r.tw = tw;
    return r;
  }
  int64_t block(int64_t item) const { return item % blocks; }
};

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

// The forward builds pixel-major columns (dcn_cpu_kernels.h) from a channels-last copy of each chunk:
// every sample then feeds a unit-stride run of channels, which is what keeps the sampling a small
// share of the pass next to the GEMM. The copies and the weight permutation count as "im2col".
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
  const PhaseCosts costs{g, double(sizeof(T))};
  const int64_t cg_k = g.channels_per_group * g.K;  // GEMM depth per group
  const int64_t row_length = g.C * g.K;             // one pixel's column row, all groups
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
      if (n0 == 0) weight_taps_major(g, t.weight, weight);
      pool.parallel_for(images, [&](int64_t n) {
        to_channels_last(g, t.x + (n0 + n) * image_plane, x_channels_last + n * image_plane);
      });
    });
    for (int64_t p0 = 0; p0 < g.P; p0 += tiling.tile) {
      const int64_t tw = std::min(tiling.tile, g.P - p0);
      phases.run("im2col", costs.im2col_bytes(images, tw), costs.im2col_flops(images, tw), [&] {
        // Items of kPixelsPerItem pixels of one image: enough work per item to amortize the pool, and
        // enough items to balance any thread count.
        constexpr int64_t kPixelsPerItem = 32;
        const int64_t per_image = (tw + kPixelsPerItem - 1) / kPixelsPerItem;
        pool.parallel_for(images * per_image, [&](int64_t item) {
          const int64_t n = item / per_image, first = p0 + (item % per_image) * kPixelsPerItem;
          ImageInputs<T> in = image_inputs(g, t.x, t.offset, mask, n0 + n);
          in.x = x_channels_last + n * image_plane;
          im2col_pixel_major(g, in, p0, first, std::min(first + kPixelsPerItem, p0 + tw), col + n * tw * row_length);
        });
      });
      phases.run("gemm_forward", costs.gemm_bytes(images, tw), costs.gemm_flops(images, tw), [&] {
        for (int64_t n = 0; n < images; ++n) {
          for (int64_t grp = 0; grp < g.groups; ++grp) {
            // y[grp] (Co/groups x tw) += W'[grp] (Co/groups x K*Cg) * rows^T (K*Cg x tw)
            const GemmShape shape{false, true, g.outputs_per_group, tw, cg_k, cg_k, row_length, g.P};
            gemm<T>(shape, T(1), weight + grp * g.outputs_per_group * cg_k, col + n * tw * row_length + grp * cg_k,
                    t.bias ? T(1) : T(0), t.y + ((n0 + n) * g.Co + grp * g.outputs_per_group) * g.P + p0);
          }
        }
      });
    }
  }
  phases.report();
}

template <typename T>
void dcn_backward(const Problem& problem, const CpuConfig& config, const BackwardTensors<T>& t,
                  const CpuContext& context, void* workspace) {
  const ConvGeometry g = ConvGeometry::of(problem);
  const Tiling tiling = resolve_tiling(problem, config);
  const WorkspaceLayout layout = workspace_layout(problem, tiling);
  Scratch<T> scratch(workspace, layout.backward_elements());
  T* const col = scratch.data();
  T* const dcol = col + layout.col;
  T* const partials = dcol + layout.dcol;
  const BlockItems items{g, channel_blocks_per_offset_group(g)};
  const PhaseCosts costs{g, double(sizeof(T))};
  const int64_t cg_k = g.channels_per_group * g.K;
  const T* const mask = g.mask ? t.mask : nullptr;
  T* const grad_mask = g.mask ? t.grad_mask : nullptr;
  const bool want_coord = t.grad_offset || grad_mask;
  const bool want_dcol = t.grad_x || want_coord;
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
  if (t.grad_weight) std::fill(t.grad_weight, t.grad_weight + g.Co * cg_k, T(0));

  for (int64_t n0 = 0; n0 < problem.N; n0 += tiling.step) {
    const int64_t images = std::min(tiling.step, problem.N - n0);
    for (int64_t p0 = 0; p0 < g.P; p0 += tiling.tile) {
      const int64_t tw = std::min(tiling.tile, g.P - p0);
      auto grad_y_slice = [&](int64_t n, int64_t grp) {
        return t.grad_y + ((n0 + n) * g.Co + grp * g.outputs_per_group) * g.P + p0;
      };
      auto weight_gemms = [&] {
        phases.run("gemm_weight", costs.gemm_bytes(images, tw) + costs.element * costs.weight_elements(),
                   costs.gemm_flops(images, tw), [&] {
                     for (int64_t n = 0; n < images; ++n) {
                       for (int64_t grp = 0; grp < g.groups; ++grp) {
                         // grad_W_g (Co_g x CgK) += grad_y_g (Co_g x tw) * col_g^T (tw x CgK)
                         const GemmShape shape{false, true, g.outputs_per_group, cg_k, tw, g.P, tw, cg_k};
                         gemm<T>(shape, T(1), grad_y_slice(n, grp), col + (n * g.C * g.K + grp * cg_k) * tw, T(1),
                                 t.grad_weight + grp * g.outputs_per_group * cg_k);
                       }
                     }
                   });
      };
      if (!want_dcol) {
        // Only grad_weight: recompute the columns (the backend keeps no state between passes).
        phases.run("im2col", costs.im2col_bytes(images, tw), costs.im2col_flops(images, tw), [&] {
          pool.parallel_for(items.count(images), [&](int64_t item) {
            const int64_t n = items.image(item);
            im2col_block(g, image_inputs(g, t.x, t.offset, mask, n0 + n), items.range(item, p0, tw),
                         col + n * g.C * g.K * tw);
          });
        });
        weight_gemms();
        continue;
      }
      phases.run("gemm_dcol", costs.gemm_bytes(images, tw), costs.gemm_flops(images, tw), [&] {
        for (int64_t n = 0; n < images; ++n) {
          for (int64_t grp = 0; grp < g.groups; ++grp) {
            // dcol_g (CgK x tw) = W_g^T (CgK x Co_g) * grad_y_g (Co_g x tw)
            const GemmShape shape{true, false, cg_k, tw, g.outputs_per_group, cg_k, g.P, tw};
            gemm<T>(shape, T(1), t.weight + grp * g.outputs_per_group * cg_k, grad_y_slice(n, grp), T(0),
                    dcol + (n * g.C * g.K + grp * cg_k) * tw);
          }
        }
      });
      // One pass over dcol: col2im into grad_x, the coordinate partial sums and, when grad_weight is
      // wanted, the column recompute (it gathers the same x values).
      const bool fused_columns = t.grad_weight != nullptr;
      phases.run("col2im_coord", costs.col2im_bytes(images, tw, t.grad_x, want_coord, fused_columns),
                 costs.col2im_flops(images, tw, t.grad_x, want_coord, fused_columns), [&] {
                   const int64_t partials_per_block = g.K * 3 * tw;
                   pool.parallel_for(items.count(images), [&](int64_t item) {
                     const int64_t n = items.image(item);
                     const BlockRange r = items.range(item, p0, tw);
                     T* grad_x = t.grad_x ? t.grad_x + (n0 + n) * g.C * g.H * g.W : nullptr;
                     // The block owns the planes of its channels: clear them before the first tile.
                     if (grad_x && p0 == 0)
                       std::fill(grad_x + r.c_begin * g.H * g.W, grad_x + r.c_end * g.H * g.W, T(0));
                     col2im_coord_block(g, image_inputs(g, t.x, t.offset, mask, n0 + n), r, dcol + n * g.C * g.K * tw,
                                        grad_x, want_coord ? partials + item * partials_per_block : nullptr,
                                        fused_columns ? col + n * g.C * g.K * tw : nullptr);
                   });
                   if (!want_coord) return;
                   // Sum the channel blocks in block order: the same result for any thread count.
                   pool.parallel_for(images * g.offset_groups, [&](int64_t image_group) {
                     const int64_t n = image_group / g.offset_groups;
                     BlockRange r;
                     r.og = image_group % g.offset_groups;
                     r.p0 = p0;
                     r.tw = tw;
                     reduce_coord_partials(
                         g, image_inputs(g, t.x, t.offset, mask, n0 + n), r, items.blocks,
                         partials + image_group * items.blocks * partials_per_block,
                         t.grad_offset ? t.grad_offset + (n0 + n) * 2 * g.offset_groups * g.K * g.P : nullptr,
                         grad_mask ? grad_mask + (n0 + n) * g.offset_groups * g.K * g.P : nullptr);
                   });
                 });
      if (t.grad_weight) weight_gemms();
    }
  }
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
