// The CPU implementation of deformable convolution (docs/semantics.md) on raw arrays in NCHW or NHWC
// (channels-last) memory, templated on a precision: F32 is what the backend runs for f32 (and for
// f16/bf16 computed in f32), Bf16Native runs bf16 tensors with bf16 columns and GEMMs (AVX512-BF16,
// f32 accumulation), F64 exists so tests can run central finite differences. The BackendImpl adapter
// (cpu_backend.cpp) converts TensorRefs and dtypes and calls these.
//
// Work is split into items whose boundaries depend on the problem and the config, never on the thread
// count, and every item writes its own part of the output: results are bitwise the same for any
// number of threads.
//
//   forward:  items of `tile` output pixels of one image: sample the tile's columns into per-thread
//             scratch (cache-sized), multiply them with the packed weights right away (y^T = cols W'^T),
//             write y with the bias added.
//   backward: per span of pixels (a cache budget, whole tiles): items (image, tile, channel block) do
//             dcol = grad_y^T W' and one pass over it (coordinate partial sums, the column recompute
//             for grad_weight, the scatter into grad_x when the item owns its channels); then items of
//             three kinds run side by side: grad_W' += grad_y cols (per block, kWeightChannels of its
//             channels and weight_item_rows output rows),
//             the scatter into grad_x per slice of channels (when the first pass did not scatter), and
//             the reduction of the coordinate partials.
// Only what is requested is computed. Memory is bounded by the chunk, never by N.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/phases.h"
#include "dcnjit/problem.h"
#include "runtime/cpu/bf16.h"
#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/thread_pool.h"

namespace dcnjit::cpu {

struct CpuConfig {
  int64_t im2col_step = 1;  // images per chunk; values above N are clamped to N; must be >= 1
  int64_t pixel_tile = 0;   // output pixels per work item and GEMM call; 0 (or >= Ho*Wo) = whole image
  GemmLibrary gemm = GemmLibrary::onednn;
};

// The backward's weight-gradient items, grad_W'_b (rows x K*channels) += grad_y rows cols_b, one GEMM
// call each per span (bench/cpu_gemm_shapes.cpp times the same calls).
//
// Input channels of a block per item. A call's C is then rows x 32*K floats, 590 KB for 512 rows of a
// 3x3 layer, which stays in a core's L2 (1 MB on Zen 5) while the call accumulates into it; a whole
// block's 128*K columns (2.4 MB) does not. Measured on the r50 layers' calls (one thread, medians of 16
// interleaved rounds, 2026-11-25): 512 channels 222.8 -> 247.5 GFLOP/s (span 384), 225.8 -> 242.3
// (span 950); 256 channels 240.3 -> 253.8.
inline constexpr int64_t kWeightChannels = 32;
// Output rows (of Co/groups) per item: at least kWeightRows (a multiple of the GEMM kernels' blocking
// that keeps each call long), more where there are blocks enough to give four items per span without
// them: each item packs its columns once, so fewer, longer items pack less.
inline constexpr int64_t kWeightRows = 128;
inline int64_t weight_item_rows(int64_t outputs_per_group, int64_t blocks) {
  return std::min(std::max(kWeightRows, outputs_per_group * blocks / 4), outputs_per_group);
}

// V: compute type; S: storage of x, y, grad_y, grad_x (the caller's memory); Col: columns and GEMM
// inputs. offset, mask, weight, bias and their gradients are always V.
template <typename V_, typename S_, typename Col_>
struct Precision {
  using V = V_;
  using S = S_;
  using Col = Col_;
};
using F32 = Precision<float, float, float>;
using F64 = Precision<double, double, double>;
using Bf16Native = Precision<float, Bf16, Bf16>;

// Activations (x, offset, mask, y and their gradients) in the problem's layout: NCHW, or NHWC memory
// order ([N, H, W, C], [N, Ho, Wo, 2*og*K], [N, Ho, Wo, og*K], [N, Ho, Wo, Co]).
template <typename Prec>
struct ForwardTensors {
  using V = typename Prec::V;
  using S = typename Prec::S;
  const S* x = nullptr;
  const V* offset = nullptr;
  const V* mask = nullptr;    // null without a mask
  const V* weight = nullptr;  // [Co, C/groups, kh, kw]
  const V* bias = nullptr;    // [Co] or null
  S* y = nullptr;
};

// Gradient targets that are null are not computed.
template <typename Prec>
struct BackwardTensors {
  using V = typename Prec::V;
  using S = typename Prec::S;
  const S* x = nullptr;
  const V* offset = nullptr;
  const V* mask = nullptr;
  const V* weight = nullptr;
  const S* grad_y = nullptr;
  S* grad_x = nullptr;
  V* grad_offset = nullptr;
  V* grad_mask = nullptr;  // ignored without a mask
  V* grad_weight = nullptr;
  V* grad_bias = nullptr;
};

// Where a pass runs: its threads and, optionally, who hears about its phases. Phase names: forward
// "im2col" (sampling, and the layout copy of x), "gemm_forward" (the GEMMs and the write of y with
// the bias); backward "bias_grad", "gemm_dcol", "col2im_coord" (the coordinate sums, the scatter into
// grad_x, and the column recompute when grad_weight is also wanted), "im2col" (the columns when
// grad_weight is wanted but none of grad_x/offset/mask), "gemm_weight". Each phase is reported once
// per pass, its time, bytes and FLOPs summed over chunks. Where one work item does two phases (the
// forward's sampling and GEMM, the backward's dcol GEMM and sampling), the section's wall time is
// divided in proportion to the time the threads spent in each. Atomics are always 0.
struct CpuContext {
  ThreadPool& pool;
  detail::PhaseSink* phases = nullptr;
  PackedStore* packed = nullptr;  // memory for the packed weights, kept between passes (null: per pass)
};

// Scratch bytes a pass needs with `threads` threads (the forward keeps per-thread columns). Enough for
// any subset of gradients.
template <typename Prec>
std::size_t forward_workspace_bytes(const Problem& problem, const CpuConfig& config, int threads);
template <typename Prec>
std::size_t backward_workspace_bytes(const Problem& problem, const CpuConfig& config, int threads);

// `workspace` must hold the *_workspace_bytes for the pool's thread count, aligned for double; null
// makes the pass allocate its own for the call. problem.dtype is ignored (Prec is the type);
// problem.layout says how the activations are stored. Throws Error(InvalidArgument) for a bad config,
// Error(Unsupported) when the GEMM library cannot run the precision or a size.
template <typename Prec>
void dcn_forward(const Problem& problem, const CpuConfig& config, const ForwardTensors<Prec>& tensors,
                 const CpuContext& context, void* workspace);

template <typename Prec>
void dcn_backward(const Problem& problem, const CpuConfig& config, const BackwardTensors<Prec>& tensors,
                  const CpuContext& context, void* workspace);

}  // namespace dcnjit::cpu
