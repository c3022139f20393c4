// The CPU implementation of deformable convolution (docs/semantics.md) on raw contiguous NCHW arrays,
// templated on the scalar type: float (cblas_sgemm) is what the backend runs, double (cblas_dgemm) exists
// so tests can run central finite differences. The BackendImpl adapter (cpu_backend.cpp) converts
// TensorRefs and dtypes and calls these.
//
// A pass walks the batch in chunks of `im2col_step` images and each image in tiles of `pixel_tile`
// output pixels; per chunk and tile:
//   forward:  im2col (sampling into pixel-major columns) -> y = W col (+ bias, applied by initializing y
//             and accumulating on top)
//   backward: [grad_bias] sum of grad_y
//             [grad_x / grad_offset / grad_mask] dcol = W^T grad_y -> one fused pass over dcol: col2im
//               scatter into grad_x, the coordinate gradients, and the column recompute if grad_weight
//               is wanted
//             [grad_weight] (im2col if no dcol pass ran) -> grad_weight += grad_y col^T
// Only what is requested is computed. Memory is bounded by the chunk, never by N.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dcnjit/problem.h"
#include "runtime/cpu/thread_pool.h"
#include "core/phases.h"

namespace dcnjit::cpu {

struct CpuConfig {
  int64_t im2col_step = 1;  // images per chunk; values above N are clamped to N; must be >= 1
  int64_t pixel_tile = 0;   // output pixels per tile; 0 (or >= Ho*Wo) = whole image
};

template <typename T>
struct ForwardTensors {
  const T* x = nullptr;       // [N, C, H, W]
  const T* offset = nullptr;  // [N, 2*og*kh*kw, Ho, Wo]
  const T* mask = nullptr;    // [N, og*kh*kw, Ho, Wo], null without a mask
  const T* weight = nullptr;  // [Co, C/groups, kh, kw]
  const T* bias = nullptr;    // [Co] or null
  T* y = nullptr;             // [N, Co, Ho, Wo]
};

// Gradient targets that are null are not computed.
template <typename T>
struct BackwardTensors {
  const T* x = nullptr;
  const T* offset = nullptr;
  const T* mask = nullptr;
  const T* weight = nullptr;
  const T* grad_y = nullptr;
  T* grad_x = nullptr;
  T* grad_offset = nullptr;
  T* grad_mask = nullptr;  // ignored without a mask
  T* grad_weight = nullptr;
  T* grad_bias = nullptr;
};

// Where a pass runs: its threads and, optionally, who hears about its phases. Phase names: forward
// "bias" (y initialized with the bias), "im2col", "gemm_forward"; backward "bias_grad", "gemm_dcol",
// "col2im_coord" (includes the column recompute when grad_weight is also wanted), "im2col" (the column
// recompute when grad_weight is wanted but none of grad_x/offset/mask), "gemm_weight". Each phase is
// reported once per pass, its time, bytes and FLOPs summed over chunks and tiles; atomics are always 0.
struct CpuContext {
  ThreadPool& pool;
  detail::PhaseSink* phases = nullptr;
};

// Scratch bytes a pass needs. Forward: the column buffer of one chunk and tile, a channels-last copy of
// the chunk's images and the permuted weights. Backward: the column buffer, the dcol buffer and the
// per-channel-block coordinate partial sums (enough for any subset of gradients).
std::size_t forward_workspace_bytes(const Problem& problem, const CpuConfig& config, std::size_t element_size);
std::size_t backward_workspace_bytes(const Problem& problem, const CpuConfig& config, std::size_t element_size);

// `workspace` must hold forward/backward_workspace_bytes(problem, config, sizeof(T)) bytes aligned for T;
// null makes the pass allocate its own for the call. problem.dtype is ignored (T is the type).
// Throws Error(InvalidArgument) for a bad config, Error(Unsupported) when a GEMM size exceeds CBLAS's
// 32-bit range.
template <typename T>
void dcn_forward(const Problem& problem, const CpuConfig& config, const ForwardTensors<T>& tensors,
                 const CpuContext& context, void* workspace);

template <typename T>
void dcn_backward(const Problem& problem, const CpuConfig& config, const BackwardTensors<T>& tensors,
                  const CpuContext& context, void* workspace);

}  // namespace dcnjit::cpu
