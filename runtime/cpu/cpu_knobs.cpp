#include "runtime/cpu/cpu_knobs.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>

namespace dcnjit::cpu {

namespace {

// The default keeps the column buffer of one chunk and tile under this size, so the GEMM reads the
// columns the sampling pass just wrote from the last-level cache, not from DRAM (on the r50 layer, 35 MB
// of columns against a 32 MB L3: forward 57.7 -> 53 ms on one thread), while the GEMMs stay long (>= 1000
// columns for these layers). A constant, not sysconf's L3 size: in a VM that reports the host's whole L3
// (320 MB here) where one core reaches 32 MB.
constexpr int64_t kColumnBudgetBytes = int64_t(16) << 20;

struct Heuristic {
  int64_t step = 1;
  int64_t tile = 0;
};

Heuristic heuristic(const Problem& problem) {
  Heuristic h;
  // In double: the product can exceed int64 for absurd (but valid) problem sizes.
  const double column_bytes_per_pixel = double(problem.C) * problem.taps() * sizeof(float);
  const double pixels = double(problem.Ho()) * double(problem.Wo());
  const double column_bytes_per_image = column_bytes_per_pixel * pixels;
  const double budget = double(kColumnBudgetBytes);
  if (column_bytes_per_image <= budget) {
    const double images = std::floor(budget / column_bytes_per_image);
    h.step = int64_t(std::clamp<double>(images, 1, double(std::min<int64_t>(problem.N, INT32_MAX))));
  } else {
    // One image alone is over budget: tile its pixels into equal tiles (no short last tile for a slow
    // GEMM), each a multiple of 64 pixels.
    const double most = std::max(64.0, std::floor(budget / column_bytes_per_pixel / 64) * 64);
    const double tiles = std::ceil(pixels / most);
    h.tile = int64_t(std::clamp<double>(std::ceil(pixels / tiles / 64) * 64, 64, INT32_MAX));
  }
  return h;
}

}  // namespace

const KnobTable& cpu_knobs() {
  static const KnobTable table(
      "im2col",
      {
          {"step", "images per chunk (the column buffer holds this many images)", Affects::both, {},
           [](const Problem& p) {
             std::vector<int64_t> steps;
             for (int64_t s = 1; s < p.N && s <= 256; s *= 2) steps.push_back(s);
             steps.push_back(std::min<int64_t>(p.N, 1 << 20));
             return steps;
           },
           [](const Problem& p) { return heuristic(p).step; },
           [](const Problem& p, int64_t v) -> std::string {
             if (v >= 1 && v <= p.N) return {};
             return fmt::format("expected 1 to N={}", p.N);
           }},
          {"tile", "output pixels per im2col tile (0 = the whole image)", Affects::both, {},
           [](const Problem& p) {
             // The whole image, and cache-sized tiles smaller than it.
             std::vector<int64_t> tiles{0};
             for (int64_t tile : {256, 1024, 4096})
               if (tile < p.Ho() * p.Wo()) tiles.push_back(tile);
             return tiles;
           },
           [](const Problem& p) { return heuristic(p).tile; },
           [](const Problem&, int64_t v) -> std::string {
             if (v >= 0 && v <= INT32_MAX) return {};
             return "expected 0 (whole image) or a positive pixel count";
           }},
      });
  return table;
}

CpuConfig cpu_config_of(const Config& config) {
  CpuConfig c;
  c.im2col_step = cpu_knobs().value(config, "step");
  c.pixel_tile = cpu_knobs().value(config, "tile");
  return c;
}

}  // namespace dcnjit::cpu
