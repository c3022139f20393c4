#include "algorithms/fused/fused_kernels.h"

#include <fmt/format.h>

#include <numeric>

#include "algorithms/gather/pixel_map_layout.h"
#include "algorithms/shared_kernels.h"

namespace dcnjit::algo::fused {

namespace {

constexpr int kReduceThreads = 256;

const char* mma_constant(MmaKind mma) {
  switch (mma) {
    case MmaKind::ffma: return "dcn::kMmaFfma";
    case MmaKind::f16: return "dcn::kMmaF16";
    case MmaKind::bf16: return "dcn::kMmaBF16";
    case MmaKind::tf32: return "dcn::kMmaTF32";
  }
  return "?";
}

const char* mma_token(MmaKind mma) {
  switch (mma) {
    case MmaKind::ffma: return "ffma";
    case MmaKind::f16:
    case MmaKind::bf16: return "wmma";
    case MmaKind::tf32: return "tf32";
  }
  return "?";
}

const char* mma_detail(MmaKind mma) {
  switch (mma) {
    case MmaKind::ffma: return "FFMA per thread, f32 (exact f32)";
    case MmaKind::f16: return "WMMA m16n16k16 on tensor cores, f16 operands, f32 accumulation";
    case MmaKind::bf16: return "WMMA m16n16k16 on tensor cores, bf16 operands, f32 accumulation";
    case MmaKind::tf32: return "WMMA m16n16k8 on tensor cores, operands rounded to tf32 (allow_tf32)";
  }
  return "?";
}

}  // namespace

bool needs_64bit_indices(const KernelContext& c) {
  const Problem& p = c.problem;
  const double P = double(p.Ho()) * double(p.Wo()), taps = p.taps();
  const double sizes[] = {
      double(p.N) * double(p.C) * double(p.H) * double(p.W),
      double(p.N) * 2 * double(p.offset_groups) * taps * P,
      double(p.N) * double(p.Co) * P,
      double(c.coord_slots) * double(p.N) * double(p.offset_groups) * taps * 5 * P,
      double(c.knobs.split) * double(p.Co) * double(p.C / p.groups) * taps,
      double(p.groups) * taps * double(p.C / p.groups) * double(weight_pitch(p.Co / p.groups)),
      // atomic=gather: a chunk's column gradient and map entries (0 without the gather)
      c.knobs.gather ? double(c.knobs.step) * double(p.C) * taps * P : 0.0,
      c.knobs.gather ? 4 * double(c.knobs.step) * double(p.offset_groups) * taps * P : 0.0,
  };
  return algo::needs_64bit_index(*std::max_element(std::begin(sizes), std::end(sizes)));
}

namespace {

bool index64_for(const KernelContext& c) { return needs_64bit_indices(c); }

// What of the config a kernel's FusedSpec carries. The tiled kernels: all of it. The reductions and the
// gather do not tile: a canonical tile, left out of their names; the weight reduction alone keeps the
// reduction order, in which it reads the split-K partials.
struct SpecScope {
  bool tiled;
  bool ordered;
};
constexpr SpecScope kTiled{true, true}, kUntiled{false, false}, kUntiledOrdered{false, true};

std::vector<gen::SpecArgument> spec_arguments(const KernelContext& c, SpecScope scope) {
  const bool tiled = scope.tiled;
  const Problem& p = c.problem;
  const FusedKnobs& k = c.knobs;
  const int64_t Cg = p.C / p.groups, Cpo = p.C / p.offset_groups;
  const auto hidden = [tiled](std::string token) { return tiled ? token : std::string(); };
  return {
      {"kh, kw", fmt::format("{}, {}", p.kh, p.kw), fmt::format("k{}x{}", p.kh, p.kw)},
      {"stride", fmt::format("{}, {}", p.stride_h, p.stride_w), fmt::format("s{}x{}", p.stride_h, p.stride_w)},
      {"dilation", fmt::format("{}, {}", p.dilation_h, p.dilation_w),
       fmt::format("d{}x{}", p.dilation_h, p.dilation_w)},
      {"channels per conv group", std::to_string(Cg), fmt::format("cg{}", Cg)},
      {"channels per offset group", std::to_string(Cpo), fmt::format("co{}", Cpo)},
      {"boundary", p.boundary == Boundary::v2 ? "dcn::kBoundaryV2" : "dcn::kBoundaryV1", to_string(p.boundary)},
      {"mask", p.mask ? "true" : "false", p.mask ? "mask" : "nomask"},
      dtype_argument(p.dtype),
      layout_argument(p.layout),
      index_argument(index64_for(c)),
      {"BM, BN, BK", tiled ? fmt::format("{}, {}, {}", k.bm, k.bn, k.bk) : "16, 16, 16",
       hidden(fmt::format("m{}n{}k{}", k.bm, k.bn, k.bk))},
      {"warps", tiled ? fmt::format("{}, {}", k.wm, k.wn) : "1, 1", hidden(fmt::format("w{}x{}", k.wm, k.wn))},
      {"stages", tiled ? std::to_string(k.stages) : "2", hidden(fmt::format("st{}", k.stages))},
      {"order", k.tap_major || !scope.ordered ? "dcn::kTapMajor" : "dcn::kChannelMajor",
       scope.ordered ? (k.tap_major ? "tap" : "chan") : ""},
      {"mma", tiled ? mma_constant(c.mma) : "dcn::kMmaFfma", hidden(mma_token(c.mma))},
  };
}

std::vector<std::string> problem_details(const KernelContext& c) {
  const Problem& p = c.problem;
  return {
      fmt::format("taps      {}x{}, stride {}x{}, dilation {}x{}", p.kh, p.kw, p.stride_h, p.stride_w, p.dilation_h,
                  p.dilation_w),
      fmt::format("channels  {} per conv group, {} per offset group", p.C / p.groups, p.C / p.offset_groups),
      fmt::format("boundary  {}", p.boundary == Boundary::v2 ? "v2 (torchvision: zero-padded bilinear)"
                                                              : "v1 (MXNet DCNv1: clamped border)"),
      fmt::format("mask      {}", p.mask ? "yes (DCNv2)" : "no (DCNv1)"),
      fmt::format("layout    {} activations", p.layout == Layout::nhwc ? "NHWC" : "NCHW"),
      storage_detail(p.dtype),
      fmt::format("indexing  {}-bit", index64_for(c) ? 64 : 32),
  };
}

gen::KernelSpec fused_spec(const KernelContext& c, const char* family, const char* summary, const char* header,
                           const char* function, SpecScope scope) {
  gen::KernelSpec spec;
  spec.family = family;
  spec.summary = summary;
  spec.header = header;
  spec.function = function;
  spec.spec_template = "dcn::FusedSpec";
  spec.arguments = spec_arguments(c, scope);
  spec.params_type = "dcn::FusedParams";
  spec.details = problem_details(c);
  return spec;
}

}  // namespace

int64_t weight_pitch(int64_t row_length) { return (row_length + 7) / 8 * 8; }

int64_t chunk_segment(const Problem& p) { return std::gcd(p.C / p.groups, p.C / p.offset_groups); }

int64_t chunks_per_segment(const Problem& p, const FusedKnobs& k) { return (chunk_segment(p) + k.bm - 1) / k.bm; }

bool uses_f32_accumulators(const Problem& p) { return p.dtype == DType::f16 || p.dtype == DType::bf16; }

KernelContext kernel_context(const Problem& problem, const FusedKnobs& knobs, MmaKind mma) {
  const int64_t per_offset_group = (problem.C / problem.offset_groups) / chunk_segment(problem);
  return KernelContext{problem, knobs, mma, per_offset_group * chunks_per_segment(problem, knobs)};
}

gen::KernelSpec tiled_kernel(const KernelContext& c, Kernel kernel) {
  gen::KernelSpec spec;
  switch (kernel) {
    case Kernel::forward:
      spec = fused_spec(c, "fused_fwd", "x, offset, mask, W -> y: sampling feeds the MMA tiles (implicit GEMM)",
                        "algorithms/fused/fused_forward.cuh", "dcn::fused_forward", kTiled);
      break;
    case Kernel::weight_gradient:
      spec = fused_spec(c, "fused_wgrad", "grad_y, x, offset, mask -> grad_W (split-K partials)",
                        "algorithms/fused/fused_weight_gradient.cuh", "dcn::fused_weight_gradient", kTiled);
      break;
    case Kernel::data_gradient:
      spec = fused_spec(c, "fused_dgrad",
                        "W, grad_y -> dcol tile -> grad_x (atomic scatter), coordinate partial sums",
                        "algorithms/fused/fused_data_gradient.cuh", "dcn::fused_data_gradient", kTiled);
      break;
  }
  const FusedKnobs& k = c.knobs;
  spec.details.push_back(fmt::format("tile      {} x {} x {}, {} x {} warps, {} stages, {} order", k.bm, k.bn, k.bk,
                                     k.wm, k.wn, k.stages, k.tap_major ? "tap-major" : "channel-major"));
  spec.details.push_back(fmt::format("mma       {}", mma_detail(c.mma)));
  spec.block_threads = k.threads();
  spec.min_blocks_per_sm = std::max(1, 256 / k.threads());  // up to 255 registers per thread
  spec.dynamic_shared_bytes = int(shared_bytes(kernel, k, c.mma));
  return spec;
}

gen::KernelSpec weights_kernel(const KernelContext& c, WeightsArrangement arrangement) {
  const Problem& p = c.problem;
  gen::KernelSpec spec;
  spec.family = "fused_weights";
  spec.summary = arrangement == WeightsArrangement::rows
                     ? "W -> [Co][k'] in the GEMM's reduction order, rows padded to 8"
                     : "W -> [groups][taps][C/groups][Co/groups], rows padded to 8 (W^T per tap)";
  spec.header = "algorithms/fused/fused_weights.cuh";
  spec.function = "dcn::fused_weights";
  spec.spec_template = "dcn::WeightsSpec";
  const bool rows = arrangement == WeightsArrangement::rows;
  spec.arguments = {
      {"taps", std::to_string(p.taps()), fmt::format("t{}", p.taps())},
      {"channels per conv group", std::to_string(p.C / p.groups), fmt::format("cg{}", p.C / p.groups)},
      dtype_argument(p.dtype),
      {"order", c.knobs.tap_major ? "dcn::kTapMajor" : "dcn::kChannelMajor",
       rows ? (c.knobs.tap_major ? "tap" : "chan") : ""},
      {"arrangement", rows ? "dcn::kWeightsRows" : "dcn::kWeightsColumns", rows ? "rows" : "columns"},
      index_argument(index64_for(c)),
  };
  spec.params_type = "dcn::FusedParams";
  spec.details = {storage_detail(p.dtype), fmt::format("launch    {} threads per block, grid-stride", kReduceThreads)};
  spec.block_threads = kReduceThreads;
  spec.min_blocks_per_sm = 2;
  return spec;
}

gen::KernelSpec weight_reduce_kernel(const KernelContext& c) {
  gen::KernelSpec spec = fused_spec(c, "fused_wreduce", "weight partials -> grad_W, summed in split order",
                                    "algorithms/fused/fused_reduce.cuh", "dcn::fused_weight_reduce", kUntiledOrdered);
  spec.details.push_back(fmt::format("launch    {} threads per block, grid-stride", kReduceThreads));
  spec.block_threads = kReduceThreads;
  spec.min_blocks_per_sm = 2;
  return spec;
}

gen::KernelSpec coord_reduce_kernel(const KernelContext& c) {
  gen::KernelSpec spec =
      fused_spec(c, "fused_creduce", "coordinate partials -> grad_offset, grad_mask, summed in chunk order",
                 "algorithms/fused/fused_reduce.cuh", "dcn::fused_coord_reduce", kUntiled);
  spec.details.push_back(fmt::format("launch    {} threads per block, grid-stride", kReduceThreads));
  spec.block_threads = kReduceThreads;
  spec.min_blocks_per_sm = 2;
  return spec;
}

namespace {

gen::KernelSpec gather_kernel(const KernelContext& c, const char* family, const char* summary, const char* function) {
  gen::KernelSpec spec = fused_spec(c, family, summary, "algorithms/fused/fused_gather.cuh", function, kUntiled);
  spec.details.push_back("grad_x    deterministic: a map of each input pixel's entries, no floating-point atomics");
  spec.details.push_back(fmt::format("launch    {} threads per block, grid-stride", kGatherThreads));
  spec.block_threads = kGatherThreads;
  spec.min_blocks_per_sm = 2;
  return spec;
}

gen::KernelSpec map_kernel(const KernelContext& c, bool scan) {
  const char* header = "algorithms/fused/fused_gather.cuh";
  gen::KernelSpec spec = gather::map_kernel(c.problem.dtype, index64_for(c), kGatherThreads, scan,
                                            scan ? "fused_map_scan" : "fused_map_sort", header,
                                            scan ? "dcn::fused_map_scan" : "dcn::fused_map_sort", "dcn::FusedParams");
  spec.min_blocks_per_sm = 2;
  return spec;
}

}  // namespace

GatherKernels gather_kernels(const KernelContext& c) {
  return GatherKernels{
      gather_kernel(c, "fused_map_count", "offset, mask -> entries per input pixel (deterministic grad_x's map)",
                    "dcn::fused_map_count"),
      map_kernel(c, true),
      gather_kernel(c, "fused_map_fill", "offset, mask -> each input pixel's entries: column and m * w_k",
                    "dcn::fused_map_fill"),
      map_kernel(c, false),
      gather_kernel(c, "fused_gather", "column gradient, map -> grad_x, each element summed by one thread in order",
                    "dcn::fused_gather")};
}

ForwardKernels forward_kernels(const KernelContext& c) {
  return ForwardKernels{weights_kernel(c, WeightsArrangement::rows), tiled_kernel(c, Kernel::forward)};
}

BackwardKernels backward_kernels(const KernelContext& c, const Gradients& gradients) {
  BackwardKernels k;
  const Problem& p = c.problem;
  const bool coord = gradients.offset || (p.mask && gradients.mask);
  if (gradients.x || coord) {
    k.weights = weights_kernel(c, WeightsArrangement::columns);
    k.data_gradient = tiled_kernel(c, Kernel::data_gradient);
  }
  if (coord) k.coord_reduce = coord_reduce_kernel(c);
  if (gradients.x && c.knobs.gather) k.gather = gather_kernels(c);
  if (gradients.x && !c.knobs.gather && uses_f32_accumulators(p))
    k.cast_x = cast_kernel(p.dtype, index64_for(c), kReduceThreads, 1);
  if (gradients.weight) {
    k.weight_gradient = tiled_kernel(c, Kernel::weight_gradient);
    if (c.knobs.split > 1) k.weight_reduce = weight_reduce_kernel(c);
  }
  if (gradients.bias) k.bias_grad = bias_grad_kernel(p, kReduceThreads);
  return k;
}

}  // namespace dcnjit::algo::fused
