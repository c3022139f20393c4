#include "algorithms/im2col/im2col_kernels.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "algorithms/gather/pixel_map_layout.h"
#include "algorithms/im2col/im2col_workspace.h"
#include "algorithms/im2col/sampling_params.cuh"
#include "algorithms/shared_kernels.h"

namespace dcnjit::algo::im2col {

namespace {

struct Family {
  const char* family;
  const char* summary;
  const char* header;
  const char* function;
};

Family family_of(SamplingKind kind) {
  switch (kind) {
    case SamplingKind::im2col:
      return {"im2col", "x, offset, mask -> columns", "algorithms/im2col/deform_im2col.cuh", "dcn::deform_im2col"};
    case SamplingKind::col2im:
      return {"col2im", "dcol -> grad_x (atomic scatter)", "algorithms/im2col/deform_col2im_coord.cuh",
              "dcn::deform_col2im"};
    case SamplingKind::coord:
      return {"coord", "dcol, x -> grad_offset, grad_mask", "algorithms/im2col/deform_col2im_coord.cuh",
              "dcn::deform_coord"};
    case SamplingKind::col2im_coord:
      return {"col2im_coord", "dcol, x -> grad_x (atomic scatter), grad_offset, grad_mask in one pass",
              "algorithms/im2col/deform_col2im_coord.cuh", "dcn::deform_col2im_coord"};
    case SamplingKind::col2im_count:
      return {"col2im_count", "offset, mask -> entries per input pixel (deterministic col2im's map)",
              "algorithms/im2col/deform_col2im_gather.cuh", "dcn::col2im_count"};
    case SamplingKind::col2im_fill:
      return {"col2im_fill", "offset, mask -> each input pixel's entries: column and m * w_k",
              "algorithms/im2col/deform_col2im_gather.cuh", "dcn::col2im_fill"};
    case SamplingKind::col2im_gather:
      return {"col2im_gather", "dcol, map -> grad_x, each element summed by one thread in a fixed order",
              "algorithms/im2col/deform_col2im_gather.cuh", "dcn::col2im_gather"};
  }
  return {};
}

bool scatters(SamplingKind kind) { return kind == SamplingKind::col2im || kind == SamplingKind::col2im_coord; }

// The map kernels walk items one lane each (every corner entered once).
bool uses_split(SamplingKind kind) { return kind != SamplingKind::col2im_count && kind != SamplingKind::col2im_fill; }

bool builds_map(SamplingKind kind) {
  return kind == SamplingKind::col2im_count || kind == SamplingKind::col2im_fill ||
         kind == SamplingKind::col2im_gather;
}

// __launch_bounds__(threads, min_blocks) with min_blocks = 512 / threads: ptxas may then use up to 128
// registers per thread. With the thread count alone, ptxas picks its own occupancy target and was
// measured to cap the backward kernels at 40-48 registers and spill; these kernels need 40-64 for one
// item per thread. With 2 or 4 items per thread, col2im_coord keeps every item's corners, weights and
// sums live and spilled at 128 registers (the NVRTC sweep: 20 bytes for bf16 NHWC with 2 items): those
// kernels may use up to 255 registers (256 resident threads per SM's worth), fewer threads each with
// 2-4x the loads in flight. The bound is a ceiling: ptxas uses fewer where it can.
int min_blocks_per_sm(int block_threads, int items) {
  const int resident = items >= 2 ? 256 : 512;
  return block_threads >= resident ? 1 : resident / block_threads;
}

const char* boundary_description(Boundary boundary) {
  return boundary == Boundary::v2 ? "v2 (torchvision: zero-padded bilinear)" : "v1 (MXNet DCNv1: clamped border)";
}

}  // namespace

bool uses_f32_accumulators(const Problem& problem) {
  return problem.dtype == DType::f16 || problem.dtype == DType::bf16;
}

bool needs_64bit_index(const Problem& problem, int step) {
  const double pixels = double(problem.Ho()) * double(problem.Wo());
  const double taps = problem.taps();
  const double N = double(problem.N), chunk = double(std::max(step, 1));
  const double C = double(problem.C), Co = double(problem.Co);
  const double sizes[] = {
      N * C * double(problem.H) * double(problem.W),          // x, grad_x
      N * 2 * double(problem.offset_groups) * taps * pixels,  // offset, grad_offset
      N * Co * pixels,                                        // y, grad_y
      chunk * (problem.layout == Layout::nhwc ? pixels : C * taps) * double(column_pitch(problem)),  // columns
      Co * (C / double(problem.groups)) * taps,               // grad_weight
      4 * chunk * double(problem.offset_groups) * taps * pixels,  // the deterministic col2im's map entries
  };
  return algo::needs_64bit_index(*std::max_element(std::begin(sizes), std::end(sizes)));
}

gen::KernelSpec sampling_kernel(const Problem& problem, const Im2colKnobs& knobs, SamplingKind kind) {
  const Family f = family_of(kind);
  const bool index64 = needs_64bit_index(problem, knobs.step);
  const int cpg = int(problem.C / problem.offset_groups);
  const bool warp = scatters(kind) && knobs.warp_atomics;
  const int split = uses_split(kind) ? knobs.split : 1;
  const std::string split_token = uses_split(kind) ? fmt::format("sp{}", split) : "";
  const char* atomic = builds_map(kind) ? "dcn::kAtomicGather" : warp ? "dcn::kAtomicWarp" : "dcn::kAtomicPlain";
  gen::KernelSpec spec;
  spec.family = f.family;
  spec.summary = f.summary;
  spec.header = f.header;
  spec.function = f.function;
  spec.spec_template = "dcn::SamplingSpec";
  spec.arguments = {
      {"kh, kw", fmt::format("{}, {}", problem.kh, problem.kw), fmt::format("k{}x{}", problem.kh, problem.kw)},
      {"stride", fmt::format("{}, {}", problem.stride_h, problem.stride_w),
       fmt::format("s{}x{}", problem.stride_h, problem.stride_w)},
      {"dilation", fmt::format("{}, {}", problem.dilation_h, problem.dilation_w),
       fmt::format("d{}x{}", problem.dilation_h, problem.dilation_w)},
      {"channels_per_group", std::to_string(cpg), fmt::format("cpg{}", cpg)},
      {"boundary", problem.boundary == Boundary::v2 ? "dcn::kBoundaryV2" : "dcn::kBoundaryV1",
       to_string(problem.boundary)},
      {"mask", problem.mask ? "true" : "false", problem.mask ? "mask" : "nomask"},
      dtype_argument(problem.dtype),
      layout_argument(problem.layout),
      index_argument(index64),
      threads_argument(knobs.threads),
      items_argument(knobs.items),
      {"split", std::to_string(split), split_token},
      {"atomic", atomic, scatters(kind) ? (warp ? "awarp" : "aplain") : ""},
  };
  spec.params_type = "dcn::SamplingParams";
  spec.details = {
      fmt::format("taps      {}x{}, stride {}x{}, dilation {}x{}", problem.kh, problem.kw, problem.stride_h,
                  problem.stride_w, problem.dilation_h, problem.dilation_w),
      fmt::format("channels  {} per offset group", cpg),
      fmt::format("boundary  {}", boundary_description(problem.boundary)),
      fmt::format("mask      {}", problem.mask ? "yes (DCNv2)" : "no (DCNv1)"),
      fmt::format("layout    {} activations, {} columns", problem.layout == Layout::nhwc ? "NHWC" : "NCHW",
                  problem.layout == Layout::nhwc ? "[images][P][C][taps]" : "[images][C][taps][P]"),
  };
  if (scatters(kind)) spec.details.push_back(fmt::format("atomics   {}", warp ? "warp-aggregated" : "plain"));
  spec.details.push_back(storage_detail(problem.dtype));
  spec.details.push_back(fmt::format("indexing  {}-bit", index64 ? 64 : 32));
  if (builds_map(kind)) spec.details.push_back("grad_x    deterministic: a map of each input pixel's entries, no "
                                               "floating-point atomics");
  spec.details.push_back(fmt::format("launch    {} threads per block, {} item(s) per thread, {} lane(s) per item, "
                                     "grid-stride",
                                     knobs.threads, knobs.items, split));
  spec.block_threads = knobs.threads;
  spec.items = knobs.items;
  spec.min_blocks_per_sm = min_blocks_per_sm(knobs.threads, knobs.items);
  return spec;
}

gen::KernelSpec map_kernel(const Problem& problem, const Im2colKnobs& knobs, const char* family) {
  const bool scan = std::string(family) == "col2im_scan";
  gen::KernelSpec spec = gather::map_kernel(problem.dtype, needs_64bit_index(problem, knobs.step), knobs.threads, scan,
                                            family, "algorithms/im2col/deform_col2im_gather.cuh",
                                            scan ? "dcn::col2im_scan" : "dcn::col2im_sort", "dcn::SamplingParams");
  spec.min_blocks_per_sm = min_blocks_per_sm(knobs.threads, 1);
  return spec;
}

ForwardKernels forward_kernels(const Problem& problem, const Im2colKnobs& knobs) {
  return ForwardKernels{sampling_kernel(problem, knobs, SamplingKind::im2col)};
}

BackwardKernels backward_kernels(const Problem& problem, const Im2colKnobs& knobs, const Gradients& gradients) {
  BackwardKernels k;
  const bool coord = gradients.offset || (problem.mask && gradients.mask);
  if (gradients.x && knobs.gather) {
    k.gather = GatherKernels{sampling_kernel(problem, knobs, SamplingKind::col2im_count),
                             map_kernel(problem, knobs, "col2im_scan"),
                             sampling_kernel(problem, knobs, SamplingKind::col2im_fill),
                             map_kernel(problem, knobs, "col2im_sort"),
                             sampling_kernel(problem, knobs, SamplingKind::col2im_gather)};
    if (coord) k.sampling.push_back(sampling_kernel(problem, knobs, SamplingKind::coord));
  } else if (gradients.x && coord && knobs.fused_backward) {
    k.sampling.push_back(sampling_kernel(problem, knobs, SamplingKind::col2im_coord));
  } else {
    if (gradients.x) k.sampling.push_back(sampling_kernel(problem, knobs, SamplingKind::col2im));
    if (coord) k.sampling.push_back(sampling_kernel(problem, knobs, SamplingKind::coord));
  }
  const bool accumulators = uses_f32_accumulators(problem);
  const bool index64 = needs_64bit_index(problem, knobs.step);
  if (gradients.x && accumulators && !knobs.gather)
    k.cast_x = cast_kernel(problem.dtype, index64, knobs.threads, knobs.items);
  if (gradients.weight) {
    k.im2col = sampling_kernel(problem, knobs, SamplingKind::im2col);
    if (accumulators) k.cast_w = cast_kernel(problem.dtype, index64, knobs.threads, knobs.items);
  }
  if (gradients.bias) k.bias_grad = bias_grad_kernel(problem, knobs.threads);
  return k;
}

}  // namespace dcnjit::algo::im2col
