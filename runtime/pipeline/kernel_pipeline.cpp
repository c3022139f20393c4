#include "runtime/pipeline/kernel_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "dcnjit/error.h"
#include "generator/config_space.h"
#include "generator/generator.h"
#include "runtime/pipeline/workspace_layout.h"
#include "templates/params.cuh"

namespace dcnjit::detail {

namespace {

// Byte pointer arithmetic on device addresses (never dereferenced on the host).
template <typename P>
P* advance(P* base, int64_t elements, std::size_t element_bytes) {
  if (!base) return nullptr;
  using Byte = std::conditional_t<std::is_const_v<P>, const char, char>;
  return reinterpret_cast<P*>(reinterpret_cast<Byte*>(base) + elements * int64_t(element_bytes));
}

// The sizes every phase's byte/FLOP estimate uses.
struct Shape {
  int64_t C, H, W, Co, Ho, Wo, P, K, groups, og, Cg, Cog;
  std::size_t element;
  explicit Shape(const Problem& p)
      : C(p.C), H(p.H), W(p.W), Co(p.Co), Ho(p.Ho()), Wo(p.Wo()), P(p.Ho() * p.Wo()), K(p.taps()), groups(p.groups),
        og(p.offset_groups), Cg(p.C / p.groups), Cog(p.Co / p.groups), element(dtype_size(p.dtype)) {}
};

dcn::Params sampling_params(const Problem& problem, int64_t images) {
  dcn::Params params;
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
  return params;
}

dcn::Params empty_params() {
  dcn::Params params;
  std::memset(&params, 0, sizeof(params));
  return params;
}

}  // namespace

KernelPipeline::KernelPipeline(KernelDevice& device) : device_(device) {}

KernelPipeline::~KernelPipeline() {
  if (own_workspace_) device_.release(own_workspace_);
}

std::size_t KernelPipeline::workspace_size(const Problem& problem, const Config& config) {
  return WorkspaceLayout::of(problem, gen::resolve_im2col_step(problem, config)).total_bytes;
}

LoadedKernel* KernelPipeline::kernel(const gen::KernelSpec& spec) {
  const std::string name = spec.name();
  if (auto it = kernels_.find(name); it != kernels_.end()) return it->second;
  LoadedKernel* loaded = device_.load(gen::generate_kernel(spec));
  kernels_.emplace(name, loaded);
  return loaded;
}

void* KernelPipeline::workspace(void* caller_workspace, std::size_t caller_bytes, std::size_t needed) {
  if (caller_workspace && caller_bytes >= needed) return caller_workspace;
  if (own_workspace_bytes_ < needed) {
    if (own_workspace_) device_.release(own_workspace_);
    own_workspace_ = nullptr;
    own_workspace_bytes_ = 0;
    own_workspace_ = device_.allocate(needed);
    own_workspace_bytes_ = needed;
  }
  return own_workspace_;
}

void KernelPipeline::prepare(const Problem& problem, const Config& config, gen::Pass pass) {
  gen::validate_kernel_config(problem, config);
  for (const gen::KernelSpec& spec : gen::pass_kernels(problem, config, pass)) kernel(spec);
}

// ---- launch helpers ----------------------------------------------------------------------------

namespace {

LaunchDims grid_stride_dims(const KernelDevice& device, int64_t work, int block_threads, int elems_per_thread) {
  LaunchDims dims;
  const int64_t per_block = int64_t(block_threads) * std::max(elems_per_thread, 1);
  const int64_t blocks = std::max<int64_t>(1, (work + per_block - 1) / per_block);
  dims.grid[0] = unsigned(std::min<int64_t>(blocks, device.max_grid_x()));  // the kernels grid-stride beyond
  dims.block[0] = unsigned(block_threads);
  return dims;
}

}  // namespace

// ---- forward -----------------------------------------------------------------------------------

void KernelPipeline::forward(const Problem& problem, const Config& config, const ForwardArgs& args, PhaseSink* sink) {
  gen::validate_kernel_config(problem, config);
  device_.set_stream(args.stream);
  const Shape s(problem);
  const int step = gen::resolve_im2col_step(problem, config);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, step);
  char* ws = static_cast<char*>(workspace(args.workspace, args.workspace_bytes, layout.forward_bytes));
  void* columns = ws + layout.columns;
  const gen::KernelSpec im2col = gen::KernelSpec::of(problem, config, gen::KernelKind::im2col);
  LoadedKernel* im2col_kernel = kernel(im2col);
  auto sync = [this] { device_.synchronize(); };

  for (int64_t n0 = 0; n0 < problem.N; n0 += step) {
    const int64_t images = std::min<int64_t>(step, problem.N - n0);
    {
      dcn::Params p = sampling_params(problem, images);
      p.x = advance<const void>(args.x.data, n0 * s.C * s.H * s.W, s.element);
      p.offset = advance<const void>(args.offset.data, n0 * 2 * s.og * s.K * s.P, s.element);
      p.mask = problem.mask ? advance<const void>(args.mask.data, n0 * s.og * s.K * s.P, s.element) : nullptr;
      p.columns = columns;
      const double column_elements = double(images * s.C * s.K * s.P);
      ScopedPhase phase(sink, "im2col",
                        double(s.element) * (column_elements + images * s.og * s.K * s.P * (problem.mask ? 3 : 2) +
                                             images * s.C * s.H * s.W),
                        column_elements * 8, 0, sync, device_.counter_totals());
      device_.launch(im2col_kernel, grid_stride_dims(device_, images * s.og * s.K * s.P, im2col.block_threads,
                                                     im2col.elems_per_thread),
                     &p, sizeof(p));
    }
    {
      ScopedPhase phase(sink, "gemm_forward",
                        double(s.element) * (s.Co * s.Cg * s.K + images * (s.C * s.K * s.P + s.Co * s.P)),
                        2.0 * images * s.Co * s.P * s.Cg * s.K, 0, sync, device_.counter_totals());
      for (int64_t g = 0; g < s.groups; ++g) {
        GemmDesc gemm;  // y_b[g] (Cog x P) = W[g] (Cog x Cg*K) * columns_b[g] (Cg*K x P) + bias[g]
        gemm.m = s.Cog;
        gemm.n = s.P;
        gemm.k = s.Cg * s.K;
        gemm.a = advance<const void>(args.weight.data, g * s.Cog * s.Cg * s.K, s.element);
        gemm.lda = s.Cg * s.K;
        gemm.stride_a = 0;  // the same weights for every image
        gemm.b = advance<const void>(columns, g * s.Cg * s.K * s.P, s.element);
        gemm.ldb = s.P;
        gemm.stride_b = s.C * s.K * s.P;
        gemm.c = advance<void>(args.y.data, (n0 * s.Co + g * s.Cog) * s.P, s.element);
        gemm.ldc = s.P;
        gemm.stride_c = s.Co * s.P;
        gemm.batch = int(images);
        gemm.bias = args.bias.present() ? advance<const void>(args.bias.data, g * s.Cog, s.element) : nullptr;
        gemm.dtype = problem.dtype;
        gemm.algo = config.gemm_algo;
        device_.gemm(gemm);
      }
    }
  }
}

// ---- backward ----------------------------------------------------------------------------------

void KernelPipeline::backward(const Problem& problem, const Config& config, const BackwardArgs& args,
                              PhaseSink* sink) {
  gen::validate_kernel_config(problem, config);
  device_.set_stream(args.stream);
  const Shape s(problem);
  const bool want_x = args.grad_x.present(), want_offset = args.grad_offset.present();
  const bool want_mask = problem.mask && args.grad_mask.present();
  const bool want_weight = args.grad_weight.present(), want_bias = args.grad_bias.present();
  const bool want_dcol = want_x || want_offset || want_mask;
  const bool f32_accumulators = problem.dtype != DType::f32;
  const int step = gen::resolve_im2col_step(problem, config);
  const WorkspaceLayout layout = WorkspaceLayout::of(problem, step);
  auto sync = [this] { device_.synchronize(); };

  // Which sampling kernels run: fused when both halves are wanted and the config says so.
  const bool want_coord = want_offset || want_mask;
  const bool fused = want_x && want_coord && config.fused_backward;
  gen::KernelKind sampling_kinds[2];
  int sampling_count = 0;
  if (fused) sampling_kinds[sampling_count++] = gen::KernelKind::col2im_coord;
  else {
    if (want_x) sampling_kinds[sampling_count++] = gen::KernelKind::col2im;
    if (want_coord) sampling_kinds[sampling_count++] = gen::KernelKind::coord;
  }

  char* ws = (want_dcol || want_weight) ? static_cast<char*>(workspace(args.workspace, args.workspace_bytes,
                                                                       layout.total_bytes))
                                        : nullptr;
  const int64_t weight_elements = s.Co * s.Cg * s.K;

  for (int64_t n0 = 0; n0 < problem.N; n0 += step) {
    const int64_t images = std::min<int64_t>(step, problem.N - n0);
    const int64_t first_chunk = n0 == 0;
    dcn::Params base = sampling_params(problem, images);
    base.x = advance<const void>(args.x.data, n0 * s.C * s.H * s.W, s.element);
    base.offset = advance<const void>(args.offset.data, n0 * 2 * s.og * s.K * s.P, s.element);
    base.mask = problem.mask ? advance<const void>(args.mask.data, n0 * s.og * s.K * s.P, s.element) : nullptr;
    const void* grad_y = advance<const void>(args.grad_y.data, n0 * s.Co * s.P, s.element);
    const int64_t x_elements = images * s.C * s.H * s.W;

    if (want_dcol) {
      void* grad_columns = ws + layout.grad_columns;
      {
        ScopedPhase phase(sink, "gemm_dcol",
                          double(s.element) * (s.Co * s.Cg * s.K + images * (s.C * s.K * s.P + s.Co * s.P)),
                          2.0 * images * s.Co * s.P * s.Cg * s.K, 0, sync, device_.counter_totals());
        for (int64_t g = 0; g < s.groups; ++g) {
          GemmDesc gemm;  // dcol_b[g] (Cg*K x P) = W[g]^T (Cg*K x Cog) * dy_b[g] (Cog x P)
          gemm.trans_a = true;
          gemm.m = s.Cg * s.K;
          gemm.n = s.P;
          gemm.k = s.Cog;
          gemm.a = advance<const void>(args.weight.data, g * s.Cog * s.Cg * s.K, s.element);
          gemm.lda = s.Cg * s.K;  // W[g] is stored Cog x Cg*K, i.e. k x m
          gemm.stride_a = 0;
          gemm.b = advance<const void>(grad_y, g * s.Cog * s.P, s.element);
          gemm.ldb = s.P;
          gemm.stride_b = s.Co * s.P;
          gemm.c = advance<void>(grad_columns, g * s.Cg * s.K * s.P, s.element);
          gemm.ldc = s.P;
          gemm.stride_c = s.C * s.K * s.P;
          gemm.batch = int(images);
          gemm.dtype = problem.dtype;
          gemm.algo = config.gemm_algo;
          device_.gemm(gemm);
        }
      }
      // grad_x: atomics into f32; the caller's tensor itself for f32, the accumulator otherwise.
      float* grad_x_target = nullptr;
      if (want_x) {
        grad_x_target = f32_accumulators ? reinterpret_cast<float*>(ws + layout.grad_x_accum)
                                         : static_cast<float*>(advance<void>(args.grad_x.data, n0 * s.C * s.H * s.W, 4));
        device_.fill_zero(grad_x_target, std::size_t(x_elements) * sizeof(float));
      }
      for (int i = 0; i < sampling_count; ++i) {
        const gen::KernelKind kind = sampling_kinds[i];
        const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, kind);
        dcn::Params p = base;
        p.grad_columns = grad_columns;
        if (kind != gen::KernelKind::coord) p.grad_x_accum = grad_x_target;
        if (kind != gen::KernelKind::col2im) {
          p.grad_offset = want_offset ? advance<void>(args.grad_offset.data, n0 * 2 * s.og * s.K * s.P, s.element)
                                      : nullptr;
          p.grad_mask = want_mask ? advance<void>(args.grad_mask.data, n0 * s.og * s.K * s.P, s.element) : nullptr;
        }
        const double samples = double(images * s.C * s.K * s.P);
        const bool scatters = kind != gen::KernelKind::coord;
        const bool coords = kind != gen::KernelKind::col2im;
        const char* phase_name = kind == gen::KernelKind::col2im_coord ? "col2im_coord"
                                 : kind == gen::KernelKind::col2im     ? "col2im"
                                                                       : "coord_grad";
        ScopedPhase phase(sink, phase_name,
                          double(s.element) * (samples + images * s.og * s.K * s.P * (problem.mask ? 3 : 2) +
                                               (coords ? x_elements + images * s.og * s.K * s.P * 3 : 0)) +
                              (scatters ? 8.0 * x_elements : 0.0),
                          samples * ((scatters ? 8 : 0) + (coords ? 18 : 0)), scatters ? samples * 4 : 0, sync, device_.counter_totals());
        device_.launch(kernel(spec),
                       grid_stride_dims(device_, images * s.og * s.K * s.P, spec.block_threads, spec.elems_per_thread),
                       &p, sizeof(p));
      }
      if (want_x && f32_accumulators) {
        const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, gen::KernelKind::cast);
        dcn::Params p = empty_params();
        p.src = grad_x_target;
        p.dst = advance<void>(args.grad_x.data, n0 * s.C * s.H * s.W, s.element);
        p.count = x_elements;
        ScopedPhase phase(sink, "col2im", double(x_elements) * (4 + s.element), 0, 0, sync, device_.counter_totals());
        device_.launch(kernel(spec), grid_stride_dims(device_, x_elements, spec.block_threads, spec.elems_per_thread),
                       &p, sizeof(p));
      }
    }

    if (want_weight) {
      void* columns = ws + layout.columns;
      {
        const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, gen::KernelKind::im2col);
        dcn::Params p = base;
        p.columns = columns;
        const double column_elements = double(images * s.C * s.K * s.P);
        ScopedPhase phase(sink, "im2col",
                          double(s.element) * (column_elements + images * s.og * s.K * s.P * (problem.mask ? 3 : 2) +
                                               x_elements),
                          column_elements * 8, 0, sync, device_.counter_totals());
        device_.launch(kernel(spec),
                       grid_stride_dims(device_, images * s.og * s.K * s.P, spec.block_threads, spec.elems_per_thread),
                       &p, sizeof(p));
      }
      ScopedPhase phase(sink, "gemm_weight",
                        double(s.element) * (weight_elements + images * (s.C * s.K * s.P + s.Co * s.P)),
                        2.0 * images * s.Co * s.P * s.Cg * s.K, 0, sync, device_.counter_totals());
      // grad_W[g] (Cog x Cg*K) = dy_b[g] (Cog x P) * columns_b[g]^T (P x Cg*K), summed over images.
      auto weight_gemm = [&](int64_t g, int64_t image) {
        GemmDesc gemm;
        gemm.trans_b = true;
        gemm.m = s.Cog;
        gemm.n = s.Cg * s.K;
        gemm.k = s.P;
        gemm.a = advance<const void>(grad_y, (image * s.Co + g * s.Cog) * s.P, s.element);
        gemm.lda = s.P;
        gemm.stride_a = s.Co * s.P;
        gemm.b = advance<const void>(columns, (image * s.C * s.K + g * s.Cg * s.K) * s.P, s.element);
        gemm.ldb = s.P;  // columns_b[g] is stored Cg*K x P, i.e. n x k
        gemm.stride_b = s.C * s.K * s.P;
        gemm.dtype = problem.dtype;
        gemm.algo = config.gemm_algo;
        return gemm;
      };
      if (!f32_accumulators) {
        // f32: accumulate straight into grad_weight, one GEMM per image (beta = 1 after the first).
        for (int64_t image = 0; image < images; ++image)
          for (int64_t g = 0; g < s.groups; ++g) {
            GemmDesc gemm = weight_gemm(g, image);
            gemm.c = advance<void>(args.grad_weight.data, g * s.Cog * s.Cg * s.K, s.element);
            gemm.ldc = s.Cg * s.K;
            gemm.beta = (first_chunk && image == 0) ? 0.0f : 1.0f;
            device_.gemm(gemm);
          }
      } else {
        // f16/bf16: per-image partials in one strided batch, summed over images in f32 (reduce).
        void* partials = ws + layout.weight_partials;
        for (int64_t g = 0; g < s.groups; ++g) {
          GemmDesc gemm = weight_gemm(g, 0);
          gemm.c = advance<void>(partials, g * s.Cog * s.Cg * s.K, s.element);
          gemm.ldc = s.Cg * s.K;
          gemm.stride_c = weight_elements;
          gemm.batch = int(images);
          device_.gemm(gemm);
        }
        const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, gen::KernelKind::reduce);
        dcn::Params p = empty_params();
        p.src = partials;
        p.dst = ws + layout.weight_accum;
        p.count = weight_elements;
        p.batch = images;
        p.batch_stride = weight_elements;
        p.accumulate = first_chunk ? 0 : 1;
        device_.launch(kernel(spec),
                       grid_stride_dims(device_, weight_elements, spec.block_threads, spec.elems_per_thread), &p,
                       sizeof(p));
      }
    }
  }

  if (want_weight && f32_accumulators) {
    const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, gen::KernelKind::cast);
    dcn::Params p = empty_params();
    p.src = ws + layout.weight_accum;
    p.dst = args.grad_weight.data;
    p.count = weight_elements;
    ScopedPhase phase(sink, "gemm_weight", double(weight_elements) * (4 + s.element), 0, 0, sync, device_.counter_totals());
    device_.launch(kernel(spec), grid_stride_dims(device_, weight_elements, spec.block_threads, spec.elems_per_thread),
                   &p, sizeof(p));
  }

  if (want_bias) {
    const gen::KernelSpec spec = gen::KernelSpec::of(problem, config, gen::KernelKind::bias_grad);
    dcn::Params p = empty_params();
    p.grad_y = args.grad_y.data;
    p.grad_bias = args.grad_bias.data;
    p.N = problem.N;
    p.Co = problem.Co;
    p.pixels = s.P;
    LaunchDims dims;
    dims.grid[0] = unsigned(std::min<int64_t>(problem.Co, device_.max_grid_x()));  // one block per channel
    dims.block[0] = unsigned(spec.block_threads);
    ScopedPhase phase(sink, "bias_grad", double(s.element) * (problem.N * s.Co * s.P + s.Co),
                      double(problem.N * s.Co * s.P), 0, sync, device_.counter_totals());
    device_.launch(kernel(spec), dims, &p, sizeof(p));
  }
}

}  // namespace dcnjit::detail
