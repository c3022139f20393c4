#include "runtime/cpu/dcn_cpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/checked_size.h"
#include "core/host_memory.h"
#include "dcnjit/error.h"
#include "runtime/cpu/dcn_cpu_kernels.h"
#include "runtime/cpu/phase_totals.h"

namespace dcnjit::cpu {
namespace {

// The backward keeps the dcol rows and columns of a span of pixels for the weight GEMM; spans are as
// many whole tiles as fit this budget (dcol, columns, grad_y copies, partial sums of the chunk's
// images), so the GEMMs read them from the last-level cache. A constant, not sysconf's L3 size: in a VM
// that reports the host's whole L3 where one core reaches 32 MB.
constexpr double kSpanBudgetBytes = double(16 << 20);

// Channels per item of the separate grad_x scatter: four 64-byte vectors of floats per corner and
// sample (the table entry read per sample is shared by that many channels), two items per block.
constexpr int64_t kScatterChannels = 64;

// The config resolved against the problem.
struct Tiling {
  int64_t step;   // images per chunk
  int64_t tile;   // output pixels per work item / GEMM call
  int64_t tiles;  // tiles per image
  int64_t last;   // pixels of an image's last tile
};

Tiling resolve_tiling(const Problem& problem, const CpuConfig& config) {
  if (config.im2col_step < 1)
    throw Error(ErrorCode::InvalidArgument, fmt::format("im2col_step={} must be >= 1", config.im2col_step));
  if (config.pixel_tile < 0)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("cpu_pixel_tile={} must not be negative (0 = whole image)", config.pixel_tile));
  const int64_t pixels = problem.Ho() * problem.Wo();
  Tiling t;
  t.step = std::min(config.im2col_step, problem.N);
  t.tile = std::max<int64_t>(1, config.pixel_tile == 0 ? pixels : std::min(config.pixel_tile, pixels));
  t.tiles = (pixels + t.tile - 1) / t.tile;
  t.last = pixels - (t.tiles - 1) * t.tile;
  return t;
}

// Regions of one workspace, each starting on a 64-byte boundary; the same code sizes and carves it.
// Sizes are checked products and sums (core/checked_size.h): a chunk of images can overflow int64
// where one image does not, and the error names the region.
class Carver {
 public:
  explicit Carver(char* base) : base_(base) {}
  template <typename T>
  T* take(const char* what, std::initializer_list<int64_t> dimensions) {
    const std::size_t bytes = detail::checked_bytes(what, detail::checked_product(what, dimensions), sizeof(T));
    const std::size_t at = used_;
    used_ = detail::checked_sum(what, used_, detail::checked_sum(what, bytes, 63) / 64 * 64);
    return base_ ? reinterpret_cast<T*>(base_ + at) : nullptr;
  }
  std::size_t used() const { return used_; }

 private:
  char* base_;
  std::size_t used_ = 0;
};

template <typename Prec>
struct ForwardScratch {
  using V = typename Prec::V;
  using Col = typename Prec::Col;
  V* x_channels_last = nullptr;  // [step][H*W][C]; NCHW only (NHWC x is read in place)
  V* weight = nullptr;           // per group [C/groups * K][Co/groups], rows by segment (weight_to_segment_rows)
  Col* columns = nullptr;        // per thread: [tile * C * K]
  V* product = nullptr;          // per thread: [groups][tile][Co/groups]
  int64_t columns_per_thread = 0, product_per_thread = 0;

  ForwardScratch(const Problem& problem, const Tiling& t, int threads, Carver& carve) {
    const ConvGeometry g = ConvGeometry::of(problem);
    if (!g.nhwc) x_channels_last = carve.take<V>("cpu workspace: channels-last x", {t.step, g.C, g.H, g.W});
    weight = carve.take<V>("cpu workspace: permuted weights", {g.Co, g.channels_per_group, g.K});
    const int64_t column_bytes =
        detail::checked_product("cpu workspace: columns", {t.tile, g.C, g.K, int64_t(sizeof(Col))});
    columns_per_thread = (column_bytes + 63) / 64 * 64 / int64_t(sizeof(Col));
    const int64_t product_bytes =
        detail::checked_product("cpu workspace: GEMM results", {t.tile, g.Co, int64_t(sizeof(V))});
    product_per_thread = (product_bytes + 63) / 64 * 64 / int64_t(sizeof(V));
    columns = carve.take<Col>("cpu workspace: columns", {columns_per_thread, threads});
    product = carve.take<V>("cpu workspace: GEMM results", {product_per_thread, threads});
  }
};

// Pixels per backward span: whole tiles within kSpanBudgetBytes for the chunk, at least one tile.
template <typename Prec>
int64_t span_pixels(const Problem& problem, const Tiling& t) {
  const ConvGeometry g = ConvGeometry::of(problem);
  const double blocks = double(channel_segments(g, kChannelBlock).size());
  const double per_pixel =
      double(t.step) * (double(g.C) * g.K * (sizeof(typename Prec::V) + sizeof(typename Prec::Col)) +
                        2.0 * g.Co * sizeof(typename Prec::Col) + blocks * g.K * 3 * sizeof(typename Prec::V) +
                        double(g.offset_groups) * g.K * sizeof(SampleEntry<typename Prec::V>));
  const double tiles = std::floor(kSpanBudgetBytes / per_pixel / double(t.tile));
  return std::min(g.P, t.tile * int64_t(std::clamp(tiles, 1.0, double(t.tiles))));
}

template <typename Prec>
struct BackwardScratch {
  using V = typename Prec::V;
  using Col = typename Prec::Col;
  V* x_channels_last = nullptr;       // [step][H*W][C]; NCHW only
  V* grad_x_channels_last = nullptr;  // [step][H*W][C]; unless NHWC grad_x is accumulated in place
  V* weight = nullptr;                // [Co][C/groups * K] by block (the dcol GEMM's B)
  V* grad_weight = nullptr;           // per block [Co/groups][K * n], blocks in channel order
  Col* grad_y_columns = nullptr;      // [step][span][Co]: grad_y^T, the dcol GEMM's A (NCHW, or bf16)
  Col* grad_y_rows = nullptr;         // [step][Co][span]: grad_y, the weight GEMM's A
  V* dcol = nullptr;                  // [step][span * C * K]
  Col* columns = nullptr;             // [step][span * C * K]
  V* partials = nullptr;              // [step][blocks][K][3][span]
  SampleEntry<V>* table = nullptr;    // [step][og][span][K]

  BackwardScratch(const Problem& problem, const Tiling& t, int64_t span, Carver& carve) {
    const ConvGeometry g = ConvGeometry::of(problem);
    const int64_t blocks = int64_t(channel_segments(g, kChannelBlock).size());
    if (!g.nhwc) x_channels_last = carve.take<V>("cpu workspace: channels-last x", {t.step, g.C, g.H, g.W});
    if (!(g.nhwc && std::is_same_v<typename Prec::S, V>))
      grad_x_channels_last = carve.take<V>("cpu workspace: channels-last grad_x", {t.step, g.C, g.H, g.W});
    weight = carve.take<V>("cpu workspace: permuted weights", {g.Co, g.channels_per_group, g.K});
    grad_weight = carve.take<V>("cpu workspace: grad_weight blocks", {g.Co, g.channels_per_group, g.K});
    if (!g.nhwc) grad_y_columns = carve.take<Col>("cpu workspace: grad_y columns", {t.step, span, g.Co});
    grad_y_rows = carve.take<Col>("cpu workspace: grad_y rows", {t.step, span, g.Co});
    dcol = carve.take<V>("cpu workspace: dcol", {t.step, span, g.C, g.K});
    columns = carve.take<Col>("cpu workspace: columns", {t.step, span, g.C, g.K});
    partials = carve.take<V>("cpu workspace: coordinate partials", {t.step, blocks, g.K, 3, span});
    table = carve.take<SampleEntry<V>>("cpu workspace: sample table", {t.step, g.offset_groups, span, g.K});
  }
};

// The caller's workspace, or memory owned for the duration of one pass.
class Scratch {
 public:
  Scratch(void* workspace, std::size_t bytes) {
    if (workspace) {
      data_ = static_cast<char*>(workspace);
    } else {
      const std::size_t words = std::max<std::size_t>(1, (bytes + sizeof(double) - 1) / sizeof(double));
      detail::allocate_host("cpu workspace", words * sizeof(double), [&] { owned_.reset(new double[words]); });
      data_ = reinterpret_cast<char*>(owned_.get());
    }
  }
  char* data() const { return data_; }

 private:
  std::unique_ptr<double[]> owned_;
  char* data_ = nullptr;
};

// Cost estimates reported with the phases (bytes: minimum DRAM traffic, reads + writes; FLOPs: multiply
// and add counted separately), per chunk of `images` images and `pixels` output pixels of each.
struct PhaseCosts {
  const ConvGeometry& g;
  double value;   // bytes per element of V
  double column;  // bytes per column element

  // Reads x and the offset/mask rows once, writes the columns. 7 FLOPs per column element (4 mul, 3 add;
  // the mask is folded into the weights once per sample, and the sampling itself is per sample).
  double im2col_bytes(int64_t images, int64_t pixels) const {
    return images * (value * (g.C * g.H * g.W + g.offset_groups * g.K * pixels * (g.mask ? 3.0 : 2.0)) +
                     column * double(g.C) * g.K * pixels);
  }
  double im2col_flops(int64_t images, int64_t pixels) const { return 7.0 * images * g.C * g.K * pixels; }
  // One GEMM of M = pixels, N = Co/groups, K = C/groups * kh * kw per image and group.
  double gemm_flops(int64_t images, int64_t pixels) const {
    return 2.0 * images * g.Co * g.channels_per_group * g.K * pixels;
  }
  double weight_elements() const { return double(g.Co) * g.channels_per_group * g.K; }
  // Weights once, the columns (or dcol) once, the output slice once.
  double gemm_bytes(int64_t images, int64_t pixels) const {
    return column * weight_elements() + images * (column * double(g.C) * g.K * pixels + value * double(g.Co) * pixels);
  }
  // Reads dcol, x and offset/mask rows; grad_x is read and written; coordinate gradients are written.
  // Per column element: grad_x 8 FLOPs (4 multiply-adds into the corners), coordinates 8 (4 multiply-adds
  // of dcol * x[corner] into per-sample sums); fused columns add their writes and 7 FLOPs.
  double col2im_bytes(int64_t images, int64_t pixels, bool grad_x, bool coord, bool columns) const {
    double bytes = value * (double(g.C) * g.K * pixels + g.C * g.H * g.W + g.offset_groups * g.K * pixels * 3.0);
    if (grad_x) bytes += value * 2.0 * g.C * g.H * g.W;
    if (coord) bytes += value * g.offset_groups * g.K * pixels * (g.mask ? 3.0 : 2.0);
    if (columns) bytes += column * double(g.C) * g.K * pixels;
    return images * bytes;
  }
  double col2im_flops(int64_t images, int64_t pixels, bool grad_x, bool coord, bool columns) const {
    return images * double(g.C) * g.K * pixels * ((grad_x ? 8.0 : 0.0) + (coord ? 8.0 : 0.0) + (columns ? 7.0 : 0.0));
  }
};

// Segment s's position in the permuted weights: row 0 of its group, the segment's first column.
int64_t weight_offset(const ConvGeometry& g, const ChannelSegment& s) {
  const int64_t cg_k = g.channels_per_group * g.K;
  return s.group * g.outputs_per_group * cg_k + (s.c_begin - s.group * g.channels_per_group) * g.K;
}

// One Gemm per row count a pass uses (a full tile and a shorter last one), sharing one packed B.
template <typename In, typename Out>
class GemmPair {
 public:
  GemmPair(GemmLibrary library, GemmShape shape, int64_t full_m, int64_t last_m,
           const typename Gemm<In, Out>::Source* fixed_b, PackedStore* store, std::size_t slot) {
    shape.m = full_m;
    full_.emplace(library, shape, fixed_b, store, slot);
    if (last_m != full_m) last_.emplace(full_->with_rows(last_m));
  }
  const Gemm<In, Out>& rows(int64_t m) const { return last_ && m == last_->shape().m ? *last_ : *full_; }

 private:
  std::optional<Gemm<In, Out>> full_, last_;
};

// Calls f(x) with the sampled x as the type the layout gives: the channels-last copy (V) for NCHW,
// the caller's own channels-last x (S) for NHWC.
template <typename V, typename S, typename F>
void with_sampled_x(bool nhwc, const V* copy, const S* caller, F&& f) {
  if (nhwc)
    f(caller);
  else
    f(copy);
}

// y = product + bias for output pixels [p0, p0 + tw) of one image, from the tile's GEMM results
// (per group [tw][Co/groups]) into y's layout and type. NCHW transposes in blocks of 16 pixels, whose
// 16 product rows stay in L1 while every output channel takes its 16 values from them.
template <typename V, typename S>
void write_output(const ConvGeometry& g, const V* product, int64_t tw, const V* bias, S* y, int64_t p0) {
  const int64_t co_g = g.outputs_per_group;
  if (g.nhwc) {
    for (int64_t q = 0; q < tw; ++q)
      for (int64_t o = 0; o < g.Co; ++o)
        y[(p0 + q) * g.Co + o] =
            narrow<S>(product[(o / co_g) * tw * co_g + q * co_g + o % co_g] + (bias ? bias[o] : V(0)));
    return;
  }
  constexpr int64_t kPixels = 16;
  for (int64_t q0 = 0; q0 < tw; q0 += kPixels) {
    const int64_t count = std::min(kPixels, tw - q0);
    for (int64_t o = 0; o < g.Co; ++o) {
      const V* column = product + (o / co_g) * tw * co_g + q0 * co_g + o % co_g;
      const V b = bias ? bias[o] : V(0);
      S* row = y + o * g.P + p0 + q0;
      for (int64_t e = 0; e < count; ++e) row[e] = narrow<S>(column[e * co_g] + b);
    }
  }
}

// f(n, p_begin, p_end) over the input pixels of `images` images in pieces of kCopyPixels: the layout
// copies of x and grad_x share out even for a single image.
constexpr int64_t kCopyPixels = 1024;
template <typename F>
void for_each_pixel_range(ThreadPool& pool, const ConvGeometry& g, int64_t images, F&& f) {
  const int64_t pixels = g.H * g.W, pieces = (pixels + kCopyPixels - 1) / kCopyPixels;
  pool.parallel_for(images * pieces, [&](int64_t item) {
    const int64_t n = item / pieces, p_begin = item % pieces * kCopyPixels;
    f(n, p_begin, std::min(pixels, p_begin + kCopyPixels));
  });
}

// The permutations of the weights, over groups of output channels on the pool.
template <typename V>
void weight_to_segment_rows(ThreadPool& pool, const ConvGeometry& g, const std::vector<ChannelSegment>& segments,
                            const V* weight, V* rows) {
  constexpr int64_t kChannels = 16;
  std::vector<std::pair<std::size_t, int64_t>> items;  // (segment, first channel)
  for (std::size_t i = 0; i < segments.size(); ++i)
    for (int64_t c = segments[i].c_begin; c < segments[i].c_end; c += kChannels) items.push_back({i, c});
  pool.parallel_for(int64_t(items.size()), [&](int64_t item) {
    const auto [i, c] = items[std::size_t(item)];
    weight_to_segment_rows(g, segments[i], c, std::min(segments[i].c_end, c + kChannels), weight, rows);
  });
}

template <typename V>
void parallel_weight_to_segments(ThreadPool& pool, const ConvGeometry& g, const std::vector<ChannelSegment>& segments,
                                 const V* weight, V* permuted) {
  constexpr int64_t kOutputs = 16;
  pool.parallel_for((g.Co + kOutputs - 1) / kOutputs, [&](int64_t item) {
    weight_to_segments(g, segments, weight, permuted, item * kOutputs, std::min(g.Co, (item + 1) * kOutputs));
  });
}

}  // namespace

template <typename Prec>
std::size_t forward_workspace_bytes(const Problem& problem, const CpuConfig& config, int threads) {
  Carver carve(nullptr);
  ForwardScratch<Prec>(problem, resolve_tiling(problem, config), std::max(threads, 1), carve);
  return carve.used();
}

template <typename Prec>
std::size_t backward_workspace_bytes(const Problem& problem, const CpuConfig& config, int threads) {
  const Tiling t = resolve_tiling(problem, config);
  Carver carve(nullptr);
  BackwardScratch<Prec>(problem, t, span_pixels<Prec>(problem, t), carve);
  return carve.used();
}

template <typename Prec>
void require_supported(const CpuConfig& config) {
  if constexpr (std::is_same_v<typename Prec::Col, Bf16>) {
    if (config.gemm != GemmLibrary::onednn || !cpu_has_native_bf16())
      throw Error(ErrorCode::Unsupported, "cpu backend: bf16 GEMMs need gemm=onednn on a CPU with AVX512-BF16");
  } else if constexpr (std::is_same_v<typename Prec::V, double>) {
    if (config.gemm != GemmLibrary::openblas)
      throw Error(ErrorCode::Unsupported, "cpu backend: oneDNN has no f64 GEMM; f64 runs on gemm=openblas");
  }
}

template <typename Prec>
void dcn_forward(const Problem& problem, const CpuConfig& config, const ForwardTensors<Prec>& t,
                 const CpuContext& context, void* workspace) {
  require_supported<Prec>(config);
  using V = typename Prec::V;
  using Col = typename Prec::Col;
  const ConvGeometry g = ConvGeometry::of(problem);
  const Tiling tiling = resolve_tiling(problem, config);
  ThreadPool& pool = context.pool;
  const int threads = pool.size();
  Scratch memory(workspace, forward_workspace_bytes<Prec>(problem, config, threads));
  Carver carve(memory.data());
  const ForwardScratch<Prec> scratch(problem, tiling, threads, carve);
  const std::vector<ChannelSegment> segments = channel_segments(g, g.C);  // whole group x offset group
  const PhaseCosts costs{g, double(sizeof(V)), double(sizeof(Col))};
  const int64_t cg_k = g.channels_per_group * g.K, co_g = g.outputs_per_group;
  const int64_t image = g.C * g.H * g.W;
  PhaseTotals phases(context.phases);
  if (config.gemm == GemmLibrary::openblas) pin_blas_to_one_thread();

  // y^T (tile x Co/groups) (+)= rows_s (tile x K*n) W'_s^T per segment; a group's later segments (offset
  // groups inside it) accumulate. W'_s^T is packed once for the pass.
  std::vector<GemmPair<Col, V>> gemms;
  phases.run("im2col", costs.value * 2 * costs.weight_elements(), 0, [&] {
    weight_to_segment_rows(pool, g, segments, t.weight, scratch.weight);
    int64_t previous_group = -1;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const ChannelSegment& s = segments[i];
      GemmShape shape;
      shape.n = co_g;
      shape.k = g.K * s.channels();
      shape.lda = shape.k;
      shape.ldb = co_g;
      shape.ldc = co_g;
      shape.accumulate = s.group == previous_group;
      previous_group = s.group;
      const V* b = scratch.weight + (s.group * cg_k + (s.c_begin - s.group * g.channels_per_group) * g.K) * co_g;
      gemms.emplace_back(config.gemm, shape, tiling.tile, tiling.last, b, context.packed, i);
    }
  });

  for (int64_t n0 = 0; n0 < problem.N; n0 += tiling.step) {
    const int64_t images = std::min(tiling.step, problem.N - n0);
    if (!g.nhwc)
      phases.run("im2col", costs.value * 2 * double(images) * image, 0, [&] {
        for_each_pixel_range(pool, g, images, [&](int64_t n, int64_t p_begin, int64_t p_end) {
          to_channels_last(g, t.x + (n0 + n) * image, scratch.x_channels_last + n * image, p_begin, p_end);
        });
      });
    phases.run_shared(
        {{"im2col", costs.im2col_bytes(images, g.P), costs.im2col_flops(images, g.P)},
         {"gemm_forward", costs.gemm_bytes(images, g.P), costs.gemm_flops(images, g.P)}},
        [&](PhaseTotals::Parts& parts) {
          pool.parallel_for(images * tiling.tiles, [&](int64_t item) {
            const int64_t n = item / tiling.tiles, p0 = (item % tiling.tiles) * tiling.tile;
            const int64_t tw = std::min(tiling.tile, g.P - p0);
            const int thread = ThreadPool::thread_index();
            Col* const columns = scratch.columns + thread * scratch.columns_per_thread;
            V* const product = scratch.product + thread * scratch.product_per_thread;  // [groups][tw][co_g]
            const V* offset = t.offset + (n0 + n) * g.offset_image();
            const V* mask = g.mask ? t.mask + (n0 + n) * g.mask_image() : nullptr;
            parts.part(0, [&] {
              with_sampled_x(g.nhwc, scratch.x_channels_last + n * image, t.x + (n0 + n) * image, [&](auto x) {
                const ImageInputs<V, std::remove_const_t<std::remove_pointer_t<decltype(x)>>> in{x, offset, mask};
                for (const ChannelSegment& s : segments)
                  im2col_segment(g, in, s, p0, p0, p0 + tw, columns + tw * g.K * s.c_begin);
              });
            });
            parts.part(1, [&] {
              for (std::size_t i = 0; i < segments.size(); ++i) {
                const ChannelSegment& s = segments[i];
                gemms[i].rows(tw).run(columns + tw * g.K * s.c_begin, nullptr, product + s.group * tw * co_g);
              }
              write_output(g, product, tw, t.bias, t.y + (n0 + n) * g.Co * g.P, p0);
            });
          });
        });
  }
  phases.report();
}

template <typename Prec>
void dcn_backward(const Problem& problem, const CpuConfig& config, const BackwardTensors<Prec>& t,
                  const CpuContext& context, void* workspace) {
  require_supported<Prec>(config);
  using V = typename Prec::V;
  using S = typename Prec::S;
  using Col = typename Prec::Col;
  const ConvGeometry g = ConvGeometry::of(problem);
  const Tiling tiling = resolve_tiling(problem, config);
  const int64_t span = span_pixels<Prec>(problem, tiling);
  ThreadPool& pool = context.pool;
  const int threads = pool.size();
  Scratch memory(workspace, backward_workspace_bytes<Prec>(problem, config, threads));
  Carver carve(memory.data());
  const BackwardScratch<Prec> scratch(problem, tiling, span, carve);
  const std::vector<ChannelSegment> blocks = channel_segments(g, kChannelBlock);
  const int64_t block_count = int64_t(blocks.size());
  const PhaseCosts costs{g, double(sizeof(V)), double(sizeof(Col))};
  const int64_t cg_k = g.channels_per_group * g.K, co_g = g.outputs_per_group;
  const int64_t image = g.C * g.H * g.W;
  const V* const mask = g.mask ? t.mask : nullptr;
  V* const grad_mask = g.mask ? t.grad_mask : nullptr;
  const bool want_coord = t.grad_offset || grad_mask;
  const bool want_dcol = t.grad_x || want_coord;
  const bool reads_x = want_coord || t.grad_weight;  // grad_x alone needs only the samples, not x
  // NHWC f32/f64 accumulates grad_x in the caller's memory; the rest in a channels-last V buffer.
  const bool grad_x_in_place = g.nhwc && std::is_same_v<S, V>;
  // grad_y is the GEMMs' input type in every precision: NHWC's [P][Co] is the dcol GEMM's A as it is.
  static_assert(std::is_same_v<S, Col>, "grad_y is read as GEMM input");
  const bool grad_y_columns_in_place = g.nhwc;
  PhaseTotals phases(context.phases);
  if (config.gemm == GemmLibrary::openblas) pin_blas_to_one_thread();

  if (t.grad_bias) {
    const double elements = double(problem.N) * g.Co * g.P;
    phases.run("bias_grad", costs.value * (elements + g.Co), elements, [&] {
      // Per output channel, double accumulation over N * Ho * Wo terms in (image, pixel) order, in
      // either layout: the same sum, so NCHW and NHWC give the same bits.
      constexpr int64_t kChannels = 64;
      pool.parallel_for((g.Co + kChannels - 1) / kChannels, [&](int64_t item) {
        const int64_t o0 = item * kChannels, count = std::min(kChannels, g.Co - o0);
        double sums[kChannels] = {};
        for (int64_t n = 0; n < problem.N; ++n) {
          const S* y = t.grad_y + n * g.Co * g.P;
          if (g.nhwc) {
            for (int64_t p = 0; p < g.P; ++p)
              for (int64_t o = 0; o < count; ++o) sums[o] += double(widen<V>(y[p * g.Co + o0 + o]));
          } else {
            for (int64_t o = 0; o < count; ++o)
              for (int64_t p = 0; p < g.P; ++p) sums[o] += double(widen<V>(y[(o0 + o) * g.P + p]));
          }
        }
        for (int64_t o = 0; o < count; ++o) t.grad_bias[o0 + o] = V(sums[o]);
      });
    });
  }
  if (!want_dcol && !t.grad_weight) {
    phases.report();
    return;
  }

  // dcol rows_b (tile x K*n) = grad_y^T (tile x Co/groups) W'_b, W'_b packed once for the pass.
  std::vector<GemmPair<Col, V>> dcol_gemms;
  if (want_dcol)
    phases.run("gemm_dcol", costs.value * 2 * costs.weight_elements(), 0, [&] {
      parallel_weight_to_segments(pool, g, blocks, t.weight, scratch.weight);
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        const ChannelSegment& b = blocks[i];
        GemmShape shape;
        shape.n = g.K * b.channels();
        shape.k = co_g;
        shape.lda = g.Co;
        shape.ldb = cg_k;
        shape.ldc = shape.n;
        dcol_gemms.emplace_back(config.gemm, shape, tiling.tile, tiling.last, scratch.weight + weight_offset(g, b),
                                context.packed, i);
      }
    });
  // grad_W'_b rows (m x K*n) += grad_y rows (m x span) cols_b (span x K*n), per block, weight_item_rows
  // rows and kWeightChannels channels (columns K*c0 to K*(c0 + channels) of the block's; dcn_cpu.h).
  struct WeightItem {
    std::size_t block;
    int64_t row0, rows;
    int64_t column0, columns;
  };
  std::vector<WeightItem> weight_items;
  // Per item, the GEMM of a full span (k = span) and of the last, shorter one (k = last_span).
  std::vector<std::pair<Gemm<Col, V>, std::optional<Gemm<Col, V>>>> weight_gemms;
  const int64_t last_span = g.P - (g.P - 1) / span * span;
  if (t.grad_weight) {
    const int64_t rows = weight_item_rows(g.outputs_per_group, block_count);
    for (std::size_t b = 0; b < blocks.size(); ++b)
      for (int64_t c0 = 0; c0 < blocks[b].channels(); c0 += kWeightChannels)
        for (int64_t r0 = 0; r0 < co_g; r0 += rows)
          weight_items.push_back({b, r0, std::min(rows, co_g - r0), g.K * c0,
                                  g.K * std::min(kWeightChannels, blocks[b].channels() - c0)});
    for (const WeightItem& w : weight_items) {
      GemmShape shape;  // the rows of grad_y are dense [Co][span]: lda = k
      shape.m = w.rows;
      shape.n = w.columns;
      shape.k = shape.lda = span;
      shape.ldb = shape.ldc = g.K * blocks[w.block].channels();
      shape.accumulate = true;
      std::optional<Gemm<Col, V>> last;
      if (last_span != span) {
        GemmShape l = shape;
        l.k = l.lda = last_span;
        last.emplace(config.gemm, l);
      }
      weight_gemms.emplace_back(Gemm<Col, V>(config.gemm, shape), std::move(last));
    }
    std::fill(scratch.grad_weight, scratch.grad_weight + g.Co * cg_k, V(0));
  }

  for (int64_t n0 = 0; n0 < problem.N; n0 += tiling.step) {
    const int64_t images = std::min(tiling.step, problem.N - n0);
    // The scatter runs inside the first pass when its items (image, block) give every thread one; else
    // apart, per slice of channels (it then reads dcol once more: about a quarter more work for the
    // sampling, measured on the r50 layers, which only pays where threads would otherwise idle). Either
    // way each grad_x element sums the same terms in the same order (pixel, tap, corner), so the choice
    // never changes a bit.
    const bool fused_scatter = images * block_count >= threads;
    S* const grad_x_out = t.grad_x ? t.grad_x + n0 * image : nullptr;
    V* const grad_x_acc = !t.grad_x ? nullptr : grad_x_in_place ? reinterpret_cast<V*>(grad_x_out)
                                                                : scratch.grad_x_channels_last;
    const double prepare_bytes =
        costs.value * double(images) * image * ((reads_x && !g.nhwc ? 2 : 0) + (t.grad_x ? 1 : 0));
    phases.run(want_dcol ? "col2im_coord" : "im2col", prepare_bytes, 0, [&] {
      for_each_pixel_range(pool, g, images, [&](int64_t n, int64_t p_begin, int64_t p_end) {
        if (reads_x && !g.nhwc)
          to_channels_last(g, t.x + (n0 + n) * image, scratch.x_channels_last + n * image, p_begin, p_end);
        if (grad_x_acc) std::fill(grad_x_acc + n * image + p_begin * g.C, grad_x_acc + n * image + p_end * g.C, V(0));
      });
    });

    for (int64_t p0 = 0; p0 < g.P; p0 += span) {
      const int64_t sw = std::min(span, g.P - p0);
      const int64_t pieces = (sw + tiling.tile - 1) / tiling.tile;
      const int64_t columns_per_image = sw * g.C * g.K;
      // grad_y of the span as the GEMMs read it: rows [Co][sw] (weight GEMM) and columns [sw][Co] (dcol).
      const bool copy_columns = want_dcol && !grad_y_columns_in_place;
      if (t.grad_weight || copy_columns)
        phases.run(want_dcol ? "gemm_dcol" : "gemm_weight", costs.column * 2.0 * images * g.Co * sw, 0, [&] {
        // Items of kCopyRows output channels of one image: row copies and blocked transposes.
        constexpr int64_t kCopyRows = 64;
        const int64_t pieces = (g.Co + kCopyRows - 1) / kCopyRows;
        pool.parallel_for(images * pieces, [&](int64_t item) {
          const int64_t n = item / pieces, o0 = item % pieces * kCopyRows, count = std::min(kCopyRows, g.Co - o0);
          const S* gy = t.grad_y + (n0 + n) * g.Co * g.P;
          Col* rows = scratch.grad_y_rows + n * g.Co * sw;
          Col* columns = copy_columns ? scratch.grad_y_columns + n * sw * g.Co : nullptr;
          if (g.nhwc) {
            // [P][Co] in memory: the columns are read in place; rows [Co][sw] by transposing.
            if (t.grad_weight) transpose(gy + p0 * g.Co + o0, sw, count, g.Co, rows + o0 * sw, sw);
          } else {
            if (t.grad_weight)
              for (int64_t o = o0; o < o0 + count; ++o)
                for (int64_t q = 0; q < sw; ++q) rows[o * sw + q] = narrow<Col>(widen<V>(gy[o * g.P + p0 + q]));
            if (columns) transpose(gy + o0 * g.P + p0, count, sw, g.P, columns + o0, g.Co);
          }
        });
      });
      auto grad_y_columns = [&](int64_t n, int64_t q) -> const Col* {
        if (grad_y_columns_in_place)
          return reinterpret_cast<const Col*>(t.grad_y) + ((n0 + n) * g.P + p0 + q) * g.Co;
        return scratch.grad_y_columns + (n * sw + q) * g.Co;
      };
      auto dcol_of = [&](int64_t n, const ChannelSegment& b) {
        return scratch.dcol + n * columns_per_image + sw * g.K * b.c_begin;
      };
      auto columns_of = [&](int64_t n, const ChannelSegment& b) {
        return scratch.columns + n * columns_per_image + sw * g.K * b.c_begin;
      };
      auto partials_of = [&](int64_t n, int64_t b) { return scratch.partials + (n * block_count + b) * g.K * 3 * sw; };
      auto table_of = [&](int64_t n, int64_t og) { return scratch.table + (n * g.offset_groups + og) * sw * g.K; };
      auto is_first_of_og = [&](std::size_t b) { return b == 0 || blocks[b - 1].og != blocks[b].og; };

      // The first pass: dcol and the sampling over it, or the columns alone.
      with_sampled_x(g.nhwc, scratch.x_channels_last, t.x + n0 * image, [&](auto x_chunk) {
        using XT = std::remove_const_t<std::remove_pointer_t<decltype(x_chunk)>>;
        auto inputs = [&](int64_t n) {
          return ImageInputs<V, XT>{x_chunk + n * image, t.offset + (n0 + n) * g.offset_image(),
                                    mask ? mask + (n0 + n) * g.mask_image() : nullptr};
        };
        if (!want_dcol) {
          phases.run("im2col", costs.im2col_bytes(images, sw), costs.im2col_flops(images, sw), [&] {
            pool.parallel_for(images * pieces * block_count, [&](int64_t item) {
              const int64_t n = item / (pieces * block_count), piece = item / block_count % pieces;
              const ChannelSegment& b = blocks[std::size_t(item % block_count)];
              const int64_t q0 = piece * tiling.tile, q1 = std::min(sw, q0 + tiling.tile);
              im2col_segment(g, inputs(n), b, p0, p0 + q0, p0 + q1, columns_of(n, b));
            });
          });
          return;
        }
        const bool columns = t.grad_weight != nullptr;
        // One piece of one block: the dcol GEMM, then the sampling pass over what it produced.
        auto piece_of_block = [&](PhaseTotals::Parts& parts, int64_t n, int64_t piece, std::size_t bi, bool scatter) {
          const ChannelSegment& b = blocks[bi];
          const int64_t q0 = piece * tiling.tile, q1 = std::min(sw, q0 + tiling.tile);
          V* const dcol = dcol_of(n, b);
          parts.part(0, [&] {
            dcol_gemms[bi].rows(q1 - q0).run(grad_y_columns(n, q0) + b.group * co_g, nullptr,
                                             dcol + q0 * g.K * b.channels());
          });
          parts.part(1, [&] {
            BackwardTargets<V, Col> out;
            out.grad_x = scatter && grad_x_acc ? grad_x_acc + n * image : nullptr;
            out.partial = want_coord ? partials_of(n, int64_t(bi)) : nullptr;
            out.rows = columns ? columns_of(n, b) : nullptr;
            out.table = !scatter && grad_x_acc && is_first_of_og(bi) ? table_of(n, b.og) : nullptr;
            col2im_coord_segment(g, inputs(n), b, p0, sw, q0, q1, dcol, out);
          });
        };
        phases.run_shared(
            {{"gemm_dcol", costs.gemm_bytes(images, sw), costs.gemm_flops(images, sw)},
             {"col2im_coord", costs.col2im_bytes(images, sw, t.grad_x, want_coord, columns),
              costs.col2im_flops(images, sw, t.grad_x, want_coord, columns)}},
            [&](PhaseTotals::Parts& parts) {
              if (fused_scatter) {
                pool.parallel_for(images * block_count, [&](int64_t item) {
                  for (int64_t piece = 0; piece < pieces; ++piece)
                    piece_of_block(parts, item / block_count, piece, std::size_t(item % block_count), true);
                });
              } else {
                pool.parallel_for(images * pieces * block_count, [&](int64_t item) {
                  piece_of_block(parts, item / (pieces * block_count), item / block_count % pieces,
                                 std::size_t(item % block_count), false);
                });
              }
            });
      });

      // The second pass: weight GEMMs, the separate scatter, the coordinate reduction, side by side
      // (largest items first).
      struct Item {
        int kind;  // 0 weight GEMM, 1 scatter slice, 2 reduction
        int64_t a, b, c;
      };
      std::vector<Item> items;
      if (t.grad_weight)
        for (std::size_t i = 0; i < weight_items.size(); ++i) items.push_back({0, int64_t(i), 0, 0});
      if (grad_x_acc && !fused_scatter)
        for (int64_t n = 0; n < images; ++n)
          for (const ChannelSegment& b : blocks)
            for (int64_t c = b.c_begin; c < b.c_end; c += kScatterChannels) items.push_back({1, n, c, 0});
      if (want_coord)
        for (int64_t n = 0; n < images; ++n)
          for (int64_t og = 0; og < g.offset_groups; ++og) items.push_back({2, n, og, 0});
      if (items.empty()) continue;
      std::vector<PhaseCost> second;
      std::size_t weight_part = 0, sampling_part = 0;
      if (t.grad_weight) {
        weight_part = second.size();
        second.push_back({"gemm_weight", costs.gemm_bytes(images, sw), costs.gemm_flops(images, sw)});
      }
      if (int64_t(items.size()) > int64_t(weight_items.size()) || !t.grad_weight) {
        sampling_part = second.size();
        second.push_back({"col2im_coord", 0, 0});
      }
      phases.run_shared(second,
          [&](PhaseTotals::Parts& parts) {
            pool.parallel_for(int64_t(items.size()), [&](int64_t i) {
              const Item& item = items[std::size_t(i)];
              if (item.kind == 0) {
                parts.part(weight_part, [&] {
                  const WeightItem& w = weight_items[std::size_t(item.a)];
                  const ChannelSegment& b = blocks[w.block];
                  const int64_t width = g.K * b.channels();
                  V* const target = scratch.grad_weight + co_g * g.K * b.c_begin + w.row0 * width + w.column0;
                  const auto& pair = weight_gemms[std::size_t(item.a)];
                  const Gemm<Col, V>& gemm = sw == span ? pair.first : *pair.second;
                  for (int64_t n = 0; n < images; ++n)
                    gemm.run(scratch.grad_y_rows + n * g.Co * sw + (b.group * co_g + w.row0) * sw,
                             columns_of(n, b) + w.column0, target);
                });
              } else if (item.kind == 1) {
                parts.part(sampling_part, [&] {
                  const int64_t n = item.a, c = item.b;
                  const auto found = std::find_if(blocks.begin(), blocks.end(), [&](const ChannelSegment& b) {
                    return c >= b.c_begin && c < b.c_end;
                  });
                  const ChannelSegment& b = *found;
                  scatter_slice(g, b, sw, table_of(n, b.og), dcol_of(n, b), c, std::min(kScatterChannels, b.c_end - c),
                                grad_x_acc + n * image);
                });
              } else {
                parts.part(sampling_part, [&] {
                  const int64_t n = item.a, og = item.b;
                  int64_t first = 0, count = 0;
                  for (int64_t b = 0; b < block_count; ++b) {
                    if (blocks[std::size_t(b)].og != og) continue;
                    if (count++ == 0) first = b;
                  }
                  reduce_coord_partials(g, mask ? mask + (n0 + n) * g.mask_image() : nullptr, og, p0, sw, count,
                                        partials_of(n, first),
                                        t.grad_offset ? t.grad_offset + (n0 + n) * g.offset_image() : nullptr,
                                        grad_mask ? grad_mask + (n0 + n) * g.mask_image() : nullptr);
                });
              }
            });
          });
    }
    if (t.grad_x && !grad_x_in_place) {
      // The chunk's grad_x is complete: into the caller's layout and type.
      phases.run("col2im_coord", costs.value * 2 * double(images) * image, 0, [&] {
        for_each_pixel_range(pool, g, images, [&](int64_t n, int64_t p_begin, int64_t p_end) {
          const V* from = grad_x_acc + n * image;
          S* to = grad_x_out + n * image;
          if (g.nhwc)
            for (int64_t i = p_begin * g.C; i < p_end * g.C; ++i) to[i] = narrow<S>(from[i]);
          else
            from_channels_last(g, from, to, p_begin, p_end);
        });
      });
    }
  }
  if (t.grad_weight)
    phases.run("gemm_weight", costs.value * 2 * costs.weight_elements(), 0,
               [&] { weight_from_blocks(g, blocks, scratch.grad_weight, t.grad_weight); });
  phases.report();
}

#define DCNJIT_INSTANTIATE_PASSES(Prec)                                                                          \
  template std::size_t forward_workspace_bytes<Prec>(const Problem&, const CpuConfig&, int);                     \
  template std::size_t backward_workspace_bytes<Prec>(const Problem&, const CpuConfig&, int);                    \
  template void dcn_forward<Prec>(const Problem&, const CpuConfig&, const ForwardTensors<Prec>&, const CpuContext&, \
                                  void*);                                                                        \
  template void dcn_backward<Prec>(const Problem&, const CpuConfig&, const BackwardTensors<Prec>&,                \
                                   const CpuContext&, void*);
DCNJIT_INSTANTIATE_PASSES(F32)
DCNJIT_INSTANTIATE_PASSES(F64)
DCNJIT_INSTANTIATE_PASSES(Bf16Native)
#undef DCNJIT_INSTANTIATE_PASSES

}  // namespace dcnjit::cpu
