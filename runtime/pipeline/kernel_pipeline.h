// KernelPipeline: the generated-kernel implementation of forward and backward, written once against
// KernelDevice (runtime/kernel_device.h) so the cuda and sim backends run the same sequence of the
// same kernels. A BackendImpl owns one pipeline over its device and forwards to it.
//
// Forward, per chunk of im2col_step images (the last chunk may be smaller; any N):
//   im2col               x, offset, mask -> columns [images][C*kh*kw][Ho*Wo]
//   gemm_forward         per group: y_b[g] = W[g] * columns_b[g] (+ bias), strided-batched over images
// Backward, per chunk, launching only what the requested gradients need:
//   gemm_dcol            per group: dcol_b[g] = W[g]^T * dy_b[g]                  (grad_x/offset/mask)
//   col2im_coord         fused pass over dcol (Config::fused_backward), or
//   col2im + coord_grad  split: grad_x scatter, then grad_offset/grad_mask
//   im2col               column recompute                                            (grad_weight)
//   gemm_weight          per group: grad_W[g] += dy_b[g] * columns_b[g]^T            (grad_weight)
// then, once per call:
//   bias_grad            grad_bias[o] = sum of grad_y[:, o]                          (grad_bias)
// f16/bf16: grad_x is scattered into an f32 accumulator and cast per chunk; grad_weight is formed
// per image (strided-batched GEMM into partials), summed over images in f32 (reduce) and cast once.
// f32: atomics go straight into grad_x, and the grad_weight GEMMs accumulate into it (beta = 1).
//
// Phases are reported through ScopedPhase with the names above (synchronized with
// KernelDevice::synchronize), one record per phase per chunk.
//
// Not thread-safe: one pass at a time per pipeline (a backend serializes calls on its device).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "dcnjit/config.h"
#include "dcnjit/engine.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"
#include "runtime/kernel_device.h"
#include "runtime/phases.h"

namespace dcnjit::detail {

class KernelPipeline {
 public:
  explicit KernelPipeline(KernelDevice& device);
  ~KernelPipeline();
  KernelPipeline(const KernelPipeline&) = delete;
  KernelPipeline& operator=(const KernelPipeline&) = delete;

  // Scratch bytes either pass needs for (problem, config) with every gradient requested: the column
  // and dcol buffers of one chunk plus the f32 accumulators of f16/bf16 problems. A workspace of at
  // least this size passed in the args is used as is; otherwise the pipeline allocates its own on
  // the device once and keeps it (grown on demand) until destroyed.
  static std::size_t workspace_size(const Problem& problem, const Config& config);

  // Arguments are already validated against the problem (runtime/api/validate_args.h); tensors are
  // contiguous NCHW in device memory. The config is checked with gen::validate_kernel_config().
  // `sink` (may be null) receives one PhaseStats per phase and chunk.
  void forward(const Problem& problem, const Config& config, const ForwardArgs& args, PhaseSink* sink = nullptr);
  void backward(const Problem& problem, const Config& config, const BackwardArgs& args, PhaseSink* sink = nullptr);

  // Loads (compiles or fetches from the binary cache) every kernel the pass may launch, so that a
  // later timed call does not include compilation.
  void prepare(const Problem& problem, const Config& config, gen::Pass pass);

 private:
  LoadedKernel* kernel(const gen::KernelSpec& spec);
  void* workspace(void* caller_workspace, std::size_t caller_bytes, std::size_t needed);

  KernelDevice& device_;
  std::map<std::string, LoadedKernel*> kernels_;  // by KernelSpec::name()
  void* own_workspace_ = nullptr;
  std::size_t own_workspace_bytes_ = 0;
};

}  // namespace dcnjit::detail
