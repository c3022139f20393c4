#include "algorithms/im2col/im2col_passes.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "algorithms/algorithm.h"
#include "algorithms/im2col/im2col_kernels.h"
#include "algorithms/im2col/im2col_workspace.h"
#include "algorithms/im2col/sampling_params.cuh"
#include "algorithms/shared_kernels.h"
#include "core/problem_tensors.h"

namespace dcnjit::algo::im2col {

namespace {

using detail::GemmDesc;

// Byte pointer arithmetic on device addresses (never dereferenced on the host).
template <typename P>
P* advance(P* base, int64_t elements, std::size_t element_bytes) {
  if (!base) return nullptr;
  using Byte = std::conditional_t<std::is_const_v<P>, const char, char>;
  return reinterpret_cast<P*>(reinterpret_cast<Byte*>(base) + elements * int64_t(element_bytes));
}

dcn::ActivationStrides kernel_strides(const ActivationStrides& s) { return {s.image, s.channel, s.pixel}; }

// The sizes every phase's byte/FLOP estimate and every GEMM use.
struct Shape {
  int64_t C, H, W, Co, P, K, groups, og, Cg, Cog;
  int64_t x_image, field_image, mask_image, y_image;  // elements per image of x, offset, mask, y
  int64_t pitch;        // elements between rows of the column matrix (im2col_workspace.h)
  int64_t column_image; // elements of one image's columns: C*K rows (NCHW) or P rows (NHWC) of the pitch
  std::size_t element;
  bool nhwc;
  explicit Shape(const Problem& p)
      : C(p.C), H(p.H), W(p.W), Co(p.Co), P(p.Ho() * p.Wo()), K(p.taps()), groups(p.groups), og(p.offset_groups),
        Cg(p.C / p.groups), Cog(p.Co / p.groups), x_image(p.C * p.H * p.W),
        field_image(2 * p.offset_groups * p.taps() * P), mask_image(p.offset_groups * p.taps() * P), y_image(p.Co * P),
        pitch(column_pitch(p)),
        column_image((p.layout == Layout::nhwc ? P : p.C * p.taps()) * pitch), element(dtype_size(p.dtype)),
        nhwc(p.layout == Layout::nhwc) {}
};

dcn::SamplingParams sampling_params(const Problem& problem, int64_t images) {
  dcn::SamplingParams params;
  static_assert(std::is_trivially_copyable_v<dcn::SamplingParams>);
  std::memset(&params, 0, sizeof(params));
  params.images = images;
  params.C = problem.C;
  params.H = problem.H;
  params.W = problem.W;
  params.Ho = problem.Ho();
  params.Wo = problem.Wo();
  params.offset_groups = problem.offset_groups;
  params.pad_h = problem.pad_h;
  params.pad_w = problem.pad_w;
  params.column_pitch = column_pitch(problem);
  params.x_strides = kernel_strides(input_strides(problem));
  params.offset_strides = kernel_strides(activation_strides(problem, TensorRole::offset));
  params.mask_strides = kernel_strides(activation_strides(problem, TensorRole::mask));
  return params;
}

// The sampling kernels' inputs for the chunk starting at image n0.
dcn::SamplingParams chunk_params(const Problem& problem, const Shape& s, int64_t n0, int64_t images, const void* x,
                                 const void* offset, const void* mask) {
  dcn::SamplingParams p = sampling_params(problem, images);
  p.x = advance(x, n0 * s.x_image, s.element);
  p.offset = advance(offset, n0 * s.field_image, s.element);
  p.mask = problem.mask ? advance(mask, n0 * s.mask_image, s.element) : nullptr;
  return p;
}

// The grid of a sampling kernel over a chunk: one thread per work item and lane of its split.
detail::LaunchDims sampling_grid(const LaunchContext& context, const Shape& s, int64_t images,
                                 const Im2colKnobs& knobs) {
  return context.grid_stride(images * s.og * s.K * s.P * knobs.split, knobs.threads, knobs.items);
}

// Bytes the sampling pass reads besides the columns: offsets (and mask) of the chunk.
double field_bytes(const Problem& problem, const Shape& s, int64_t images) {
  return double(s.element) * double(images * s.og * s.K * s.P * (problem.mask ? 3 : 2));
}

}  // namespace

// ---- forward -----------------------------------------------------------------------------------

void run_forward(LaunchContext& context, const Problem& problem, const Im2colKnobs& knobs, const ForwardArgs& args) {
  const Shape s(problem);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, knobs.step);
  char* ws = static_cast<char*>(context.workspace(args.workspace, args.workspace_bytes, layout.forward_bytes));
  void* columns = ws + layout.columns;
  const ForwardKernels kernels = forward_kernels(problem, knobs);

  for (int64_t n0 = 0; n0 < problem.N; n0 += knobs.step) {
    const int64_t images = std::min<int64_t>(knobs.step, problem.N - n0);
    const double column_elements = double(images * s.C * s.K * s.P);
    {
      dcn::SamplingParams p = chunk_params(problem, s, n0, images, args.x.data, args.offset.data, args.mask.data);
      p.columns = columns;
      auto phase = context.phase("im2col",
                                 double(s.element) * (column_elements + double(images * s.x_image)) +
                                     field_bytes(problem, s, images),
                                 column_elements * 8);
      context.launch(kernels.im2col, sampling_grid(context, s, images, knobs), p);
    }
    auto phase = context.phase("gemm_forward",
                               double(s.element) * double(s.Co * s.Cg * s.K + images * (s.C * s.K * s.P + s.Co * s.P)),
                               2.0 * double(images * s.Co * s.P * s.Cg * s.K));
    void* y = advance(args.y.data, n0 * s.y_image, s.element);
    for (int64_t g = 0; g < s.groups; ++g) {
      GemmDesc gemm;
      const void* weight = advance(args.weight.data, g * s.Cog * s.Cg * s.K, s.element);
      if (!s.nhwc) {
        // y_b[g] (Cog x P) = W[g] (Cog x Cg*K) * columns_b[g] (Cg*K x P) + bias[g], batched over images.
        gemm.m = s.Cog, gemm.n = s.P, gemm.k = s.Cg * s.K;
        gemm.a = weight, gemm.lda = s.Cg * s.K, gemm.stride_a = 0;  // the same weights for every image
        gemm.b = advance<const void>(columns, g * s.Cg * s.K * s.pitch, s.element);
        gemm.ldb = s.pitch, gemm.stride_b = s.column_image;
        gemm.c = advance(y, g * s.Cog * s.P, s.element), gemm.ldc = s.P, gemm.stride_c = s.y_image;
        gemm.batch = int(images);
      } else {
        // y[:, g] (images*P x Cog) = columns[:, g] (images*P x Cg*K) * W[g]^T (Cg*K x Cog) + bias[g].
        gemm.trans_b = true;
        gemm.m = images * s.P, gemm.n = s.Cog, gemm.k = s.Cg * s.K;
        gemm.a = advance<const void>(columns, g * s.Cg * s.K, s.element), gemm.lda = s.pitch;
        gemm.b = weight, gemm.ldb = s.Cg * s.K;  // W[g] is stored Cog x Cg*K, i.e. n x k
        gemm.c = advance(y, g * s.Cog, s.element), gemm.ldc = s.Co;
        gemm.bias_per_column = true;
      }
      gemm.bias = args.bias.present() ? advance(args.bias.data, g * s.Cog, s.element) : nullptr;
      gemm.dtype = problem.dtype;
      gemm.allow_tf32 = context.options().allow_tf32;
      gemm.algo = knobs.gemm_forward;
      gemm.role = "gemm_fwd";
      context.device().gemm(gemm);
    }
  }
}

// ---- backward ----------------------------------------------------------------------------------

namespace {

// dcol[g] = W[g]^T * dY[g] for the chunk whose grad_y starts at `grad_y`.
void dcol_gemms(LaunchContext& context, const Problem& problem, const Shape& s, const Im2colKnobs& knobs,
                const void* weight, const void* grad_y, void* grad_columns, int64_t images) {
  for (int64_t g = 0; g < s.groups; ++g) {
    GemmDesc gemm;
    const void* weight_g = advance(weight, g * s.Cog * s.Cg * s.K, s.element);
    if (!s.nhwc) {
      // dcol_b[g] (Cg*K x P) = W[g]^T (Cg*K x Cog) * dy_b[g] (Cog x P), batched over images.
      gemm.trans_a = true;
      gemm.m = s.Cg * s.K, gemm.n = s.P, gemm.k = s.Cog;
      gemm.a = weight_g, gemm.lda = s.Cg * s.K, gemm.stride_a = 0;  // W[g] is stored Cog x Cg*K, i.e. k x m
      gemm.b = advance(grad_y, g * s.Cog * s.P, s.element), gemm.ldb = s.P, gemm.stride_b = s.y_image;
      gemm.c = advance(grad_columns, g * s.Cg * s.K * s.pitch, s.element), gemm.ldc = s.pitch;
      gemm.stride_c = s.column_image;
      gemm.batch = int(images);
    } else {
      // dcol[:, g] (images*P x Cg*K) = dy[:, g] (images*P x Cog) * W[g] (Cog x Cg*K).
      gemm.m = images * s.P, gemm.n = s.Cg * s.K, gemm.k = s.Cog;
      gemm.a = advance(grad_y, g * s.Cog, s.element), gemm.lda = s.Co;
      gemm.b = weight_g, gemm.ldb = s.Cg * s.K;
      gemm.c = advance(grad_columns, g * s.Cg * s.K, s.element), gemm.ldc = s.pitch;
    }
    gemm.dtype = problem.dtype;
    gemm.allow_tf32 = context.options().allow_tf32;
    gemm.algo = knobs.gemm_dcol;
    gemm.role = "gemm_dcol";
    context.device().gemm(gemm);
  }
}

// The grad_weight GEMM of conv group g over `images` images starting at `image` of the chunk (NCHW: one
// image at a time; NHWC: the whole chunk at once), writing C with `beta`.
GemmDesc weight_gemm(const Shape& s, const Problem& problem, const Im2colKnobs& knobs, const RunOptions& options,
                     const void* grad_y, const void* columns, int64_t g, int64_t image, int64_t images) {
  GemmDesc gemm;
  gemm.allow_tf32 = options.allow_tf32;
  if (!s.nhwc) {
    // grad_W[g] (Cog x Cg*K) = dy_b[g] (Cog x P) * columns_b[g]^T (P x Cg*K).
    gemm.trans_b = true;
    gemm.m = s.Cog, gemm.n = s.Cg * s.K, gemm.k = s.P;
    gemm.a = advance(grad_y, image * s.y_image + g * s.Cog * s.P, s.element), gemm.lda = s.P;
    gemm.stride_a = s.y_image;
    gemm.b = advance(columns, image * s.column_image + g * s.Cg * s.K * s.pitch, s.element);
    gemm.ldb = s.pitch;  // columns_b[g] is stored Cg*K x P, i.e. n x k
    gemm.stride_b = s.column_image;
  } else {
    // grad_W[g] (Cog x Cg*K) = dy[:, g]^T (Cog x images*P) * columns[:, g] (images*P x Cg*K).
    gemm.trans_a = true;
    gemm.m = s.Cog, gemm.n = s.Cg * s.K, gemm.k = images * s.P;
    gemm.a = advance(grad_y, g * s.Cog, s.element), gemm.lda = s.Co;  // stored images*P x Cog, i.e. k x m
    gemm.b = advance(columns, g * s.Cg * s.K, s.element), gemm.ldb = s.pitch;
  }
  gemm.dtype = problem.dtype;
  gemm.algo = knobs.gemm_weight;
  gemm.role = "gemm_wgrad";
  return gemm;
}

// grad_x of one chunk by the deterministic col2im (deform_col2im_gather.cuh): the map of each input
// pixel's entries (count, scan in three launches, fill, sort), then the gather, which writes grad_x in
// the storage dtype directly. `p` has the chunk's inputs, grad_columns and grad_x.
void gather_grad_x(LaunchContext& context, const Problem& problem, const Shape& s, const Im2colKnobs& knobs,
                   const WorkspaceLayout& layout, const GatherKernels& kernels, int64_t images, char* ws,
                   dcn::SamplingParams p) {
  const int64_t pixels = images * s.og * s.H * s.W;
  p.map = layout.map.at(ws, pixels);
  const int64_t entries = 4 * images * s.og * s.K * s.P;  // at most: every corner of every item
  const double counter = double(layout.map.count_bytes), compute = problem.dtype == DType::f64 ? 8.0 : 4.0;
  {
    // Bytes: offsets and mask twice (count, fill), counters read and written by the atomics and the
    // scan, the entries written, then read and written by the sort.
    auto phase = context.phase("col2im_map",
                               2 * field_bytes(problem, s, images) + counter * double(6 * (pixels + 1)) +
                                   3 * (counter + compute) * double(entries),
                               0, 2.0 * double(entries));
    const detail::LaunchDims items_grid = context.grid_stride(images * s.og * s.K * s.P, knobs.threads, knobs.items);
    gather::build_pixel_map(context, layout.map, kernels.count, kernels.scan, kernels.fill, kernels.sort, items_grid,
                            p);
  }
  // Bytes: grad_x written once; dcol read once per entry and channel (each item's value by each of its
  // up to 4 corners' pixels); an entry's key and weight read once per batch of 4 channels.
  const double samples = double(images * s.C * s.K * s.P);
  auto phase = context.phase("col2im",
                             double(s.element) * (double(images * s.x_image) + 4.0 * samples) +
                                 (counter + compute) * double(entries) * double(s.C / s.og) / 4.0,
                             8.0 * samples);
  context.launch(kernels.gather, context.grid_stride(pixels * knobs.split, knobs.threads, knobs.items), p);
}

}  // namespace

void run_backward(LaunchContext& context, const Problem& problem, const Im2colKnobs& knobs, const BackwardArgs& args) {
  const Shape s(problem);
  const Gradients want = requested_gradients(problem, args);
  const BackwardKernels kernels = backward_kernels(problem, knobs, want);
  const bool accumulators = uses_f32_accumulators(problem);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, knobs.step, knobs.gather ? knobs.threads : 0);
  char* ws = (want.any_input() || want.weight)
                 ? static_cast<char*>(context.workspace(args.workspace, args.workspace_bytes, layout.total_bytes))
                 : nullptr;
  const int64_t weight_elements = s.Co * s.Cg * s.K;
  // The compute type's size: grad_x accumulates in it (f32, or f64).
  const std::size_t compute_bytes = problem.dtype == DType::f64 ? 8 : 4;

  for (int64_t n0 = 0; n0 < problem.N; n0 += knobs.step) {
    const int64_t images = std::min<int64_t>(knobs.step, problem.N - n0);
    const bool first_chunk = n0 == 0;
    const dcn::SamplingParams base =
        chunk_params(problem, s, n0, images, args.x.data, args.offset.data, args.mask.data);
    const void* grad_y = advance(args.grad_y.data, n0 * s.y_image, s.element);
    const int64_t x_elements = images * s.x_image;
    const double samples = double(images * s.C * s.K * s.P);

    if (want.any_input()) {
      void* grad_columns = ws + layout.grad_columns;
      {
        auto phase = context.phase(
            "gemm_dcol", double(s.element) * double(s.Co * s.Cg * s.K + images * (s.C * s.K * s.P + s.Co * s.P)),
            2.0 * double(images * s.Co * s.P * s.Cg * s.K));
        dcol_gemms(context, problem, s, knobs, args.weight.data, grad_y, grad_columns, images);
      }
      if (kernels.gather) {
        dcn::SamplingParams p = base;
        p.grad_columns = grad_columns;
        p.grad_x = advance(args.grad_x.data, n0 * s.x_image, s.element);
        gather_grad_x(context, problem, s, knobs, layout, *kernels.gather, images, ws, p);
      }
      // grad_x: atomics into the compute type; the caller's tensor itself for f32/f64, the accumulator
      // otherwise (in x's layout either way).
      void* grad_x_target = nullptr;
      if (want.x && !kernels.gather) {
        grad_x_target = accumulators ? ws + layout.grad_x_accum
                                     : advance(args.grad_x.data, n0 * s.x_image, compute_bytes);
        context.device().fill_zero(grad_x_target, std::size_t(x_elements) * compute_bytes);
      }
      for (const gen::KernelSpec& spec : kernels.sampling) {
        const bool scatters = spec.family != "coord";
        const bool coords = spec.family != "col2im";
        dcn::SamplingParams p = base;
        p.grad_columns = grad_columns;
        if (scatters) p.grad_x_accum = grad_x_target;
        if (coords) {
          p.grad_offset = want.offset ? advance(args.grad_offset.data, n0 * s.field_image, s.element) : nullptr;
          p.grad_mask = want.mask ? advance(args.grad_mask.data, n0 * s.mask_image, s.element) : nullptr;
        }
        const char* phase_name = spec.family == "col2im_coord" ? "col2im_coord"
                                 : spec.family == "col2im"     ? "col2im"
                                                               : "coord_grad";
        auto phase = context.phase(
            phase_name,
            double(s.element) * (samples + (coords ? double(x_elements + images * s.og * s.K * s.P * 3) : 0.0)) +
                field_bytes(problem, s, images) + (scatters ? 2.0 * double(compute_bytes) * double(x_elements) : 0.0),
            samples * ((scatters ? 8 : 0) + (coords ? 18 : 0)), scatters ? samples * 4 : 0);
        context.launch(spec, sampling_grid(context, s, images, knobs), p);
      }
      if (kernels.cast_x) {
        auto phase = context.phase("col2im", double(x_elements) * double(4 + s.element), 0);
        launch_cast(context, *kernels.cast_x, grad_x_target, advance(args.grad_x.data, n0 * s.x_image, s.element),
                    x_elements);
      }
    }

    if (want.weight) {
      void* columns = ws + layout.columns;
      {
        dcn::SamplingParams p = base;
        p.columns = columns;
        auto phase = context.phase("im2col",
                                   double(s.element) * (samples + double(x_elements)) + field_bytes(problem, s, images),
                                   samples * 8);
        context.launch(*kernels.im2col, sampling_grid(context, s, images, knobs), p);
      }
      auto phase = context.phase(
          "gemm_weight", double(s.element) * double(weight_elements + images * (s.C * s.K * s.P + s.Co * s.P)),
          2.0 * double(images * s.Co * s.P * s.Cg * s.K));
      // Accumulate over images and chunks in the GEMMs themselves (beta = 1 after the first): into
      // grad_weight for f32/f64, into the f32 accumulator for f16/bf16 (16-bit operands, an f32 C), so a
      // sum over images is rounded to 16 bits once, at the end; per-image 16-bit partials overflowed at
      // 65504 even when the total was small. NCHW: one GEMM per image; NHWC: one per chunk.
      void* target = accumulators ? ws + layout.weight_accum : args.grad_weight.data;
      const std::size_t target_element = accumulators ? sizeof(float) : s.element;
      const int64_t pieces = s.nhwc ? 1 : images;
      for (int64_t piece = 0; piece < pieces; ++piece)
        for (int64_t g = 0; g < s.groups; ++g) {
          GemmDesc gemm = weight_gemm(s, problem, knobs, context.options(), grad_y, columns, g, piece, images);
          gemm.c = advance(target, g * s.Cog * s.Cg * s.K, target_element);
          gemm.ldc = s.Cg * s.K;
          if (accumulators) gemm.c_dtype = DType::f32;
          gemm.beta = (first_chunk && piece == 0) ? 0.0f : 1.0f;
          context.device().gemm(gemm);
        }
    }
  }

  if (kernels.cast_w) {
    auto phase = context.phase("gemm_weight", double(weight_elements) * double(4 + s.element), 0);
    launch_cast(context, *kernels.cast_w, ws + layout.weight_accum, args.grad_weight.data, weight_elements);
  }

  if (kernels.bias_grad) {
    auto phase = context.phase("bias_grad", double(s.element) * double(problem.N * s.Co * s.P + s.Co),
                               double(problem.N * s.Co * s.P));
    launch_bias_grad(context, *kernels.bias_grad, problem, args.grad_y.data, args.grad_bias.data);
  }
}

}  // namespace dcnjit::algo::im2col
