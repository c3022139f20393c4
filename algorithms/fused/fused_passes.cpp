#include "algorithms/fused/fused_passes.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "algorithms/algorithm.h"
#include "algorithms/fused/fused_kernels.h"
#include "algorithms/fused/fused_params.cuh"
#include "algorithms/fused/fused_workspace.h"
#include "algorithms/gather/pixel_map_layout.h"
#include "algorithms/shared_kernels.h"
#include "core/problem_tensors.h"

namespace dcnjit::algo::fused {

namespace {

dcn::ActivationStrides kernel_strides(const ActivationStrides& s) { return {s.image, s.channel, s.pixel}; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// True when x can be read as 16-byte vectors of consecutive channels (the NHWC sampled operands,
// tile_loaders.cuh): channels are unit-stride, the pointer is 16-byte aligned and every pixel and image
// starts on a vector boundary. Otherwise the kernels read x element by element.
bool channel_vectors_fit(const Problem& problem, const void* x, const dcn::ActivationStrides& strides) {
  const int64_t per_vector = 16 / int64_t(dtype_size(problem.dtype));
  return problem.layout == Layout::nhwc && reinterpret_cast<std::uintptr_t>(x) % 16 == 0 &&
         strides.pixel % per_vector == 0 && strides.image % per_vector == 0;
}

dcn::FusedParams base_params(const Problem& problem, const void* x, const void* offset, const void* mask,
                             const void* weight) {
  dcn::FusedParams p;
  static_assert(std::is_trivially_copyable_v<dcn::FusedParams>);
  std::memset(&p, 0, sizeof(p));
  p.x = x;
  p.offset = offset;
  p.mask = mask;
  p.weight = weight;
  p.N = problem.N;
  p.C = problem.C;
  p.H = problem.H;
  p.W = problem.W;
  p.Co = problem.Co;
  p.Ho = problem.Ho();
  p.Wo = problem.Wo();
  p.offset_groups = problem.offset_groups;
  p.pad_h = problem.pad_h;
  p.pad_w = problem.pad_w;
  p.split = 1;
  p.x_strides = kernel_strides(input_strides(problem));
  p.x_vectors = channel_vectors_fit(problem, x, p.x_strides) ? 1 : 0;
  p.offset_strides = kernel_strides(activation_strides(problem, TensorRole::offset));
  p.mask_strides = kernel_strides(activation_strides(problem, TensorRole::mask));
  p.y_strides = kernel_strides(output_strides(problem));
  return p;
}

// The permutation of W into `weights` (fused_weights.cuh).
void permute_weights(LaunchContext& context, const gen::KernelSpec& spec, dcn::FusedParams p, void* weights,
                     int64_t rows, int64_t pitch, std::size_t element) {
  p.weights = weights;
  p.weight_pitch = pitch;
  auto phase = context.phase("weights", double(element) * double(rows * pitch) * 2, 0);
  context.launch(spec, context.grid_stride(rows * pitch, spec.block_threads), p);
}

detail::LaunchDims tiled_grid(const gen::KernelSpec& spec, int64_t x, int64_t y, int64_t z) {
  detail::LaunchDims dims;
  dims.grid[0] = unsigned(x);
  dims.grid[1] = unsigned(y);
  dims.grid[2] = unsigned(z);
  dims.block[0] = unsigned(spec.block_threads);
  return dims;
}

// Byte pointer arithmetic on device addresses (never dereferenced on the host).
template <typename P>
P* advance(P* base, int64_t elements, std::size_t element_bytes) {
  if (!base) return nullptr;
  using Byte = std::conditional_t<std::is_const_v<P>, const char, char>;
  return reinterpret_cast<P*>(reinterpret_cast<Byte*>(base) + elements * int64_t(element_bytes));
}

// The data gradient with an atomic scatter into grad_x (atomic=plain): one launch over every image,
// into the f32 accumulator for f16/bf16 (cast once at the end), grad_x itself for f32. `p` has the
// inputs, coordinate gradients, weights and partial sums.
void scatter_data_gradient(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs,
                           const BackwardKernels& kernels, const WorkspaceLayout& layout, char* ws, dcn::FusedParams p,
                           void* grad_x) {
  const int64_t K = problem.C / problem.groups * problem.taps();
  const int64_t P = problem.Ho() * problem.Wo(), pixels = problem.N * P;
  const int64_t x_elements = problem.N * problem.C * problem.H * problem.W;
  const std::size_t element = dtype_size(problem.dtype);
  const double samples = double(pixels) * double(problem.C) * problem.taps();
  const KernelContext kc = kernel_context(problem, knobs, mma_kind(problem.dtype, context.options()));
  if (grad_x) {
    p.grad_x_accum = uses_f32_accumulators(problem) ? ws + layout.grad_x_accum : grad_x;
    context.device().fill_zero(p.grad_x_accum, std::size_t(x_elements) * sizeof(float));
  }
  const bool coords = p.grad_offset != nullptr || p.grad_mask != nullptr;
  const int64_t chunks = (problem.C / chunk_segment(problem)) * chunks_per_segment(problem, knobs);
  {
    auto phase = context.phase(
        "data_gradient",
        double(element) * double(problem.Co * K + pixels * problem.Co + (coords ? x_elements : 0)) +
            (grad_x ? 8.0 * double(x_elements) : 0.0),
        2.0 * double(pixels) * double(problem.Co) * double(K) + 8.0 * samples, grad_x ? 4.0 * samples : 0.0);
    context.launch(*kernels.data_gradient,
                   tiled_grid(*kernels.data_gradient, ceil_div(pixels, knobs.bn), chunks, problem.taps()), p);
  }
  if (kernels.coord_reduce) {
    const int64_t items = problem.N * problem.offset_groups * problem.taps() * P;
    auto phase = context.phase("coord_grad", 4.0 * double(kc.coord_slots * items * 5) + 3.0 * double(element * items),
                               18.0 * double(items));
    context.launch(*kernels.coord_reduce, context.grid_stride(items, kernels.coord_reduce->block_threads), p);
  }
  if (kernels.cast_x) {
    auto phase = context.phase("data_gradient", double(x_elements) * double(4 + element), 0);
    launch_cast(context, *kernels.cast_x, p.grad_x_accum, grad_x, x_elements);
  }
}

// The deterministic data gradient (atomic=gather), chunk by chunk of knobs.step images: the data gradient
// with its dcol tiles stored to the column gradient (no scatter), the coordinate reduction of the chunk,
// then grad_x by the map and the fixed-order gather (fused_gather.cuh). `p` has the whole call's
// inputs, gradients, weights and partial sums; each chunk's copy points at its first image.
void gather_data_gradient(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs,
                          const BackwardKernels& kernels, const WorkspaceLayout& layout, char* ws, dcn::FusedParams p,
                          void* grad_x) {
  const int64_t P = problem.Ho() * problem.Wo(), taps = problem.taps();
  const int64_t K = problem.C / problem.groups * taps;
  const std::size_t element = dtype_size(problem.dtype);
  const KernelContext kc = kernel_context(problem, knobs, mma_kind(problem.dtype, context.options()));
  const int64_t chunks = (problem.C / chunk_segment(problem)) * chunks_per_segment(problem, knobs);
  const bool coords = p.grad_offset != nullptr || p.grad_mask != nullptr;
  for (int64_t n0 = 0; n0 < problem.N; n0 += knobs.step) {
    const int64_t images = std::min<int64_t>(knobs.step, problem.N - n0);
    const int64_t pixels = images * P, x_elements = images * problem.C * problem.H * problem.W;
    const int64_t items = images * problem.offset_groups * taps * P;
    const double samples = double(pixels) * double(problem.C) * double(taps);
    dcn::FusedParams c = p;
    c.N = images;
    c.x = advance(p.x, n0 * p.x_strides.image, element);
    c.offset = advance(p.offset, n0 * p.offset_strides.image, element);
    c.mask = advance(p.mask, n0 * p.mask_strides.image, element);
    c.grad_y = advance(p.grad_y, n0 * p.y_strides.image, element);
    c.grad_offset = advance(p.grad_offset, n0 * p.offset_strides.image, element);
    c.grad_mask = advance(p.grad_mask, n0 * p.mask_strides.image, element);
    c.grad_x_accum = nullptr;
    c.grad_columns = grad_x ? ws + layout.grad_columns : nullptr;
    c.grad_x = advance(grad_x, n0 * p.x_strides.image, element);
    {
      // Bytes: as the scatter's, with the column gradient written once (f32) in place of the atomics.
      auto phase = context.phase(
          "data_gradient",
          double(element) * double(problem.Co * K + pixels * problem.Co + (coords ? x_elements : 0)) +
              (grad_x ? 4.0 * samples : 0.0),
          2.0 * double(pixels) * double(problem.Co) * double(K) + 8.0 * samples);
      context.launch(*kernels.data_gradient,
                     tiled_grid(*kernels.data_gradient, ceil_div(pixels, knobs.bn), chunks, taps), c);
    }
    if (kernels.coord_reduce) {
      auto phase = context.phase("coord_grad", 4.0 * double(kc.coord_slots * items * 5) + 3.0 * double(element * items),
                                 18.0 * double(items));
      context.launch(*kernels.coord_reduce, context.grid_stride(items, kernels.coord_reduce->block_threads), c);
    }
    if (!kernels.gather) continue;
    const GatherKernels& g = *kernels.gather;
    const int64_t map_pixels = images * problem.offset_groups * problem.H * problem.W;
    const int64_t entries = 4 * items;  // at most: every corner of every item
    c.map = layout.map.at(ws, map_pixels);
    const double counter = double(layout.map.count_bytes), field = double(element) * double(items) * (p.mask ? 3 : 2);
    {
      // Bytes: offsets and mask twice (count, fill), counters read and written by the atomics and the
      // scan, the entries written, then read and written by the sort.
      auto phase = context.phase("col2im_map",
                                 2 * field + counter * double(6 * (map_pixels + 1)) +
                                     3 * (counter + 4) * double(entries),
                                 0, 2.0 * double(entries));
      gather::build_pixel_map(context, layout.map, g.count, g.scan, g.fill, g.sort,
                              context.grid_stride(items, g.count.block_threads), c);
    }
    // Bytes: grad_x written once; dcol read once per entry and channel; an entry's key and weight read
    // once per batch of 4 channels.
    auto phase = context.phase("col2im",
                               double(element) * double(x_elements) + 4.0 * 4.0 * samples +
                                   (counter + 4) * double(entries) * double(problem.C / problem.offset_groups) / 4.0,
                               8.0 * samples);
    const int64_t batches = (problem.C / problem.offset_groups + dcn::kGatherBatch - 1) / dcn::kGatherBatch;
    context.launch(g.gather, context.grid_stride(map_pixels * batches, g.gather.block_threads), c);
  }
}

}  // namespace

void run_forward(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs, const ForwardArgs& args) {
  const KernelContext kc = kernel_context(problem, knobs, mma_kind(problem.dtype, context.options()));
  const ForwardKernels kernels = forward_kernels(kc);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, knobs);
  char* ws = static_cast<char*>(context.workspace(args.workspace, args.workspace_bytes, layout.forward_bytes));
  const int64_t Cg = problem.C / problem.groups, Cog = problem.Co / problem.groups, K = Cg * problem.taps();
  const std::size_t element = dtype_size(problem.dtype);
  const int64_t pixels = problem.N * problem.Ho() * problem.Wo();

  dcn::FusedParams p = base_params(problem, args.x.data, args.offset.data, args.mask.data, args.weight.data);
  permute_weights(context, kernels.weights, p, ws + layout.weight_rows, problem.Co, weight_pitch(K), element);
  p.weights = ws + layout.weight_rows;
  p.weight_pitch = weight_pitch(K);
  p.bias = args.bias.data;
  p.y = args.y.data;
  const double samples = double(pixels) * double(problem.C) * problem.taps();
  auto phase = context.phase(
      "fused_forward",
      double(element) * double(problem.N * problem.C * problem.H * problem.W + problem.Co * K + pixels * problem.Co) +
          double(element) * double(pixels) * problem.offset_groups * problem.taps() * (problem.mask ? 3 : 2),
      2.0 * double(pixels) * double(problem.Co) * double(K) + 8.0 * samples);
  context.launch(kernels.forward,
                 tiled_grid(kernels.forward, ceil_div(pixels, knobs.bn), ceil_div(Cog, knobs.bm), problem.groups), p);
}

void run_backward(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs, const BackwardArgs& args) {
  const Gradients want = requested_gradients(problem, args);
  const KernelContext kc = kernel_context(problem, knobs, mma_kind(problem.dtype, context.options()));
  const BackwardKernels kernels = backward_kernels(kc, want);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, knobs);
  const bool needs_workspace = kernels.data_gradient || kernels.weight_reduce;
  char* ws = needs_workspace
                 ? static_cast<char*>(context.workspace(args.workspace, args.workspace_bytes, layout.total_bytes))
                 : nullptr;
  const int64_t Cg = problem.C / problem.groups, Cog = problem.Co / problem.groups, K = Cg * problem.taps();
  const int64_t P = problem.Ho() * problem.Wo(), pixels = problem.N * P;
  const std::size_t element = dtype_size(problem.dtype);
  const double samples = double(pixels) * double(problem.C) * problem.taps();
  const dcn::FusedParams base = base_params(problem, args.x.data, args.offset.data, args.mask.data, args.weight.data);

  if (kernels.data_gradient) {
    dcn::FusedParams p = base;
    permute_weights(context, *kernels.weights, p, ws + layout.weight_columns, problem.groups * problem.taps() * Cg,
                    weight_pitch(Cog), element);
    p.weights = ws + layout.weight_columns;
    p.weight_pitch = weight_pitch(Cog);
    p.grad_y = args.grad_y.data;
    p.grad_offset = want.offset ? args.grad_offset.data : nullptr;
    p.grad_mask = want.mask ? args.grad_mask.data : nullptr;
    p.coord_partials = ws + layout.coord_partials;
    p.chunks_per_offset_group = kc.coord_slots;
    void* grad_x = want.x ? args.grad_x.data : nullptr;
    if (knobs.gather)
      gather_data_gradient(context, problem, knobs, kernels, layout, ws, p, grad_x);
    else
      scatter_data_gradient(context, problem, knobs, kernels, layout, ws, p, grad_x);
  }

  if (kernels.weight_gradient) {
    dcn::FusedParams p = base;
    p.grad_y = args.grad_y.data;
    p.grad_weight = args.grad_weight.data;
    p.split = knobs.split;
    p.split_pixels = ceil_div(ceil_div(pixels, knobs.split), knobs.bk) * knobs.bk;
    if (knobs.split > 1) p.weight_partials = ws + layout.weight_partials;
    {
      auto phase = context.phase(
          "weight_gradient",
          double(element) * double(problem.N * problem.C * problem.H * problem.W + pixels * problem.Co) +
              double(knobs.split > 1 ? 4 * knobs.split : element) * double(problem.Co * K),
          2.0 * double(pixels) * double(problem.Co) * double(K) + 8.0 * samples);
      context.launch(*kernels.weight_gradient,
                     tiled_grid(*kernels.weight_gradient, ceil_div(K, knobs.bn), ceil_div(Cog, knobs.bm),
                                problem.groups * knobs.split),
                     p);
    }
    if (kernels.weight_reduce) {
      auto phase = context.phase("weight_gradient", double(problem.Co * K) * double(4 * knobs.split + element),
                                 double(problem.Co * K * knobs.split));
      context.launch(*kernels.weight_reduce, context.grid_stride(problem.Co * K, kernels.weight_reduce->block_threads),
                     p);
    }
  }

  if (kernels.bias_grad) {
    auto phase = context.phase("bias_grad", double(element) * double(pixels * problem.Co + problem.Co),
                               double(pixels * problem.Co));
    launch_bias_grad(context, *kernels.bias_grad, problem, args.grad_y.data, args.grad_bias.data);
  }
}

}  // namespace dcnjit::algo::fused
