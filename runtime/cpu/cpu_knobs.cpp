#include "runtime/cpu/cpu_knobs.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>

namespace dcnjit::cpu {

namespace {

// The default step: as many images per chunk as keep their columns under this size (at least 1, at most
// N). Chunks bound the layout copies of x and grad_x and the backward's span buffers; more images per
// chunk only give more parallel items, which small images need.
constexpr double kChunkBudgetBytes = double(16 << 20);

// The default tile: the most output pixels (a power of two, 32 to 1024) whose f32 columns stay within
// this size, so a work item's columns are still in the core's L2 / the L3 when its GEMM reads them,
// while the GEMM keeps enough rows for its kernels (docs/perf.md has the measurements).
constexpr double kTileBudgetBytes = 1.5 * double(1 << 20);

int64_t default_step(const Problem& p) {
  // In double: the product can exceed int64 for absurd (but valid) problem sizes.
  const double column_bytes_per_image = double(p.C) * p.taps() * sizeof(float) * double(p.Ho()) * double(p.Wo());
  if (column_bytes_per_image > kChunkBudgetBytes) return 1;
  const double images = std::floor(kChunkBudgetBytes / column_bytes_per_image);
  return int64_t(std::clamp<double>(images, 1, double(std::min<int64_t>(p.N, INT32_MAX))));
}

int64_t default_tile(const Problem& p) {
  const double column_bytes_per_pixel = double(p.C) * p.taps() * sizeof(float);
  int64_t tile = 32;
  while (tile < 1024 && double(tile) * 2 * column_bytes_per_pixel <= kTileBudgetBytes) tile *= 2;
  return tile >= p.Ho() * p.Wo() ? 0 : tile;
}

enum GemmWord : int64_t { kOneDnn = 0, kOpenBlas = 1 };

}  // namespace

const KnobTable& cpu_knobs() {
  static const KnobTable table(
      "im2col",
      {
          {"step", "images per chunk (the layout copies of x and grad_x hold this many images)", Affects::both, {},
           [](const Problem& p) {
             std::vector<int64_t> steps;
             for (int64_t s = 1; s < p.N && s <= 256; s *= 2) steps.push_back(s);
             steps.push_back(std::min<int64_t>(p.N, 1 << 20));
             return steps;
           },
           default_step,
           [](const Problem& p, int64_t v) -> std::string {
             if (v >= 1 && v <= p.N) return {};
             return fmt::format("expected 1 to N={}", p.N);
           }},
          {"tile", "output pixels per work item and GEMM call (0 = the whole image)", Affects::both, {},
           [](const Problem& p) {
             // The whole image, and cache-sized tiles smaller than it.
             std::vector<int64_t> tiles{0};
             for (int64_t tile : {64, 128, 256, 512, 1024})
               if (tile < p.Ho() * p.Wo()) tiles.push_back(tile);
             return tiles;
           },
           default_tile,
           [](const Problem&, int64_t v) -> std::string {
             if (v >= 0 && v <= INT32_MAX) return {};
             return "expected 0 (whole image) or a positive pixel count";
           }},
          // Not tuned: OpenBLAS runs these GEMMs at about half oneDNN's speed on every r50 shape (docs/perf.md),
          // so a tuning trial could only pick it by timing noise. It stays selectable with --config.
          {"gemm", "GEMM library: onednn (f32, bf16) or openblas (f32, f64)", Affects::both, {"onednn", "openblas"},
           [](const Problem& p) { return std::vector<int64_t>{p.dtype == DType::f64 ? kOpenBlas : kOneDnn}; },
           [](const Problem& p) -> int64_t { return p.dtype == DType::f64 ? kOpenBlas : kOneDnn; },
           [](const Problem& p, int64_t v) -> std::string {
             if (v == kOneDnn && p.dtype == DType::f64) return "oneDNN has no f64 GEMM (f64 runs on openblas)";
             return {};
           }},
      });
  return table;
}

GemmPath gemm_path_of(DType dtype, const CpuConfig& config) {
  if (dtype == DType::f64) return GemmPath::f64;
  if (dtype == DType::bf16 && config.gemm == GemmLibrary::onednn && cpu_has_native_bf16()) return GemmPath::bf16;
  return GemmPath::f32;
}

CpuConfig cpu_config_of(const Config& config) {
  CpuConfig c;
  c.im2col_step = cpu_knobs().value(config, "step");
  c.pixel_tile = cpu_knobs().value(config, "tile");
  c.gemm = cpu_knobs().value(config, "gemm") == kOpenBlas ? GemmLibrary::openblas : GemmLibrary::onednn;
  return c;
}

}  // namespace dcnjit::cpu
