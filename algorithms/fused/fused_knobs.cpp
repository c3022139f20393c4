#include "algorithms/fused/fused_knobs.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <string>

#include "algorithms/fused/fused_kernels.h"
#include "algorithms/fused/fused_tiles.h"

namespace dcnjit::algo::fused {

namespace {

const std::vector<int64_t> kTileSizes = {32, 64, 128};
const std::vector<int64_t> kStepSizes = {16, 32, 64};
const std::vector<int64_t> kWarps = {1, 2, 4};
const std::vector<int64_t> kStages = {2, 3, 4};
const std::vector<int64_t> kSplits = {1, 2, 4, 8, 16};
constexpr int64_t kAtomicPlain = 0, kAtomicGather = 1;  // the `atomic` knob's words
constexpr int64_t kMaxTunedStep = 64;

std::string one_of(const std::vector<int64_t>& allowed, int64_t value) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return {};
  return fmt::format("expected one of {}", fmt::join(allowed, ", "));
}

KnobDef integer_knob(const char* name, const char* meaning, Affects affects, const std::vector<int64_t>* values,
                     std::function<int64_t(const Problem&)> default_value) {
  return KnobDef{name,
                 meaning,
                 affects,
                 {},
                 [values](const Problem&) { return *values; },
                 std::move(default_value),
                 [values](const Problem&, int64_t v) { return one_of(*values, v); }};
}

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// The weight gradient's default split: enough CTAs for two waves of the device's SMs, but at least
// 4 reduction steps of pixels per CTA (fewer and the partial sums cost more than they save).
int64_t default_split(const Problem& p, const FusedKnobs& k, const detail::DeviceTraits& traits) {
  const int64_t Cg = p.C / p.groups, Cog = p.Co / p.groups;
  const int64_t tiles = ((Cg * p.taps() + k.bn - 1) / k.bn) * ((Cog + k.bm - 1) / k.bm) * p.groups;
  const int64_t pixels = p.N * p.Ho() * p.Wo();
  int64_t split = 1;
  while (split < 16 && tiles * split < 2 * traits.sm_count && pixels / (split * 2) >= 4 * k.bk) split *= 2;
  return split;
}

}  // namespace

FusedKnobs default_knobs(const Problem& p, const detail::DeviceTraits& traits, const RunOptions& options) {
  FusedKnobs k;
  const MmaKind mma = mma_kind(p.dtype, options);
  k.bk = mma == MmaKind::ffma ? 16 : 32;
  // Every tile of output channels samples its own copy of the B operand, so fewer, taller tiles sample
  // less: at Co/groups = 256 (R50, f16, N1 under the sim's counters) bm=128 issues 0.52x (NCHW) and
  // 0.55x (NHWC) the forward's load sectors of bm=64 (docs/perf.md). With 4 x 2 warps it keeps bm=64's
  // 2 x 2 warps' occupancy at sm_90 (forward 122 registers x 256 threads: 2 CTAs, 16 warps per SM, as
  // 128 x 128 threads: 4 CTAs), where 2 x 2 warps on 128 rows took 179 (2 CTAs, 8 warps). Only where
  // the data gradient's channel chunks (gcd(C/groups, C/og) channels at most) fill 128 rows too; 32 rows
  // where the group has no more channels.
  const int64_t Cog = p.Co / p.groups, chunk = std::gcd(p.C / p.groups, p.C / p.offset_groups);
  k.bm = Cog > 32 ? 64 : 32;
  if (std::min(Cog, chunk) >= 128) {
    FusedKnobs tall = k;
    tall.bm = 128;
    tall.wm = 4;
    if (tile_problem(p, tall, mma, traits).empty()) k = tall;
  }
  k.split = int(default_split(p, k, traits));
  return k;
}

int default_step(const Problem& p, std::size_t l2_bytes) {
  const long long per_image = std::max<long long>(1, p.C * p.taps() * p.Ho() * p.Wo() * 4);
  const long long fit = std::clamp<long long>((long long)(l2_bytes / 4 * 3) / per_image, 1, p.N);
  const long long chunks = (p.N + fit - 1) / fit;
  return int((p.N + chunks - 1) / chunks);
}

MmaKind mma_kind(DType dtype, const RunOptions& options) {
  switch (dtype) {
    case DType::f16: return MmaKind::f16;
    case DType::bf16: return MmaKind::bf16;
    default: return options.allow_tf32 ? MmaKind::tf32 : MmaKind::ffma;
  }
}

FusedKnobs FusedKnobs::of(const KnobTable& table, const Config& config) {
  FusedKnobs k;
  k.bm = int(table.value(config, "bm"));
  k.bn = int(table.value(config, "bn"));
  k.bk = int(table.value(config, "bk"));
  k.wm = int(table.value(config, "wm"));
  k.wn = int(table.value(config, "wn"));
  k.stages = int(table.value(config, "stages"));
  k.tap_major = table.value(config, "order") == 0;
  k.split = int(table.value(config, "split"));
  k.gather = table.value(config, "atomic") == kAtomicGather;
  k.step = int(table.value(config, "step"));
  return k;
}

std::string tile_problem(const Problem& problem, const FusedKnobs& k, MmaKind mma, const detail::DeviceTraits& traits) {
  const int threads = k.threads();
  if (k.wm * k.wn > 8) return fmt::format("wm={} wn={}: at most 8 warps (256 threads) per CTA", k.wm, k.wn);
  if (k.bm % (16 * k.wm) != 0 || k.bn % (16 * k.wn) != 0)
    return fmt::format("bm={} bn={} with wm={} wn={}: each warp's tile must be a multiple of 16 x 16", k.bm, k.bn,
                       k.wm, k.wn);
  if (mma == MmaKind::ffma) {
    const int tx = k.bn / 4;
    if (threads % tx != 0 || k.bm % (threads / tx) != 0)
      return fmt::format("bm={} bn={} with {} threads: the FFMA thread grid does not cover the tile", k.bm, k.bn,
                         threads);
    if (k.bm * k.bn / threads > 64)
      return fmt::format("bm={} bn={} with {} threads: {} accumulators per thread (at most 64: registers)", k.bm,
                         k.bn, threads, k.bm * k.bn / threads);
  } else {
    const int fragments = (k.bm / k.wm / 16) * (k.bn / k.wn / 16);
    if (fragments > 8)
      return fmt::format("bm={} bn={} with wm={} wn={}: {} accumulator fragments per warp (at most 8: registers)",
                         k.bm, k.bn, k.wm, k.wn, fragments);
  }
  // Registers for the operands fetched one step ahead (the weight gradient fetches both): at most 48 per
  // thread, 32 with 64-bit indices (48 spilled 32 bytes there in the NVRTC sweep).
  const bool index64 = needs_64bit_indices(kernel_context(problem, k, mma));
  const int in_flight = (k.bm + k.bn) * k.bk / threads, most = index64 ? 32 : 48;
  if (in_flight > most)
    return fmt::format("bm={} bn={} bk={} with {} threads: {} operand values per thread in flight (at most {}{})",
                       k.bm, k.bn, k.bk, threads, in_flight, most, index64 ? " with 64-bit indices" : "");
  const std::size_t shared =
      std::max({shared_bytes(Kernel::forward, k, mma), shared_bytes(Kernel::weight_gradient, k, mma),
                shared_bytes(Kernel::data_gradient, k, mma)});
  if (shared > traits.max_dynamic_shared_bytes)
    return fmt::format("bm={} bn={} bk={} stages={}: {} bytes of shared memory, the device allows {}", k.bm, k.bn,
                       k.bk, k.stages, shared, traits.max_dynamic_shared_bytes);
  return {};
}

namespace {

// wm: 4 warps on a 128-row tile (the default's occupancy, see default_knobs), else 2; from the given bm
// when a config names one, so that "bm=32" alone stays a valid tile.
KnobDef warps_along_rows(const detail::DeviceTraits& traits, const RunOptions& options) {
  KnobDef wm = integer_knob("wm", "warps along the tile's rows", Affects::both, &kWarps,
                            [traits, options](const Problem& p) -> int64_t {
                              return default_knobs(p, traits, options).wm;
                            });
  wm.default_after = [](const Problem&, const Config& earlier) -> int64_t {
    return *earlier.find("bm") == "128" ? 4 : 2;
  };
  return wm;
}

}  // namespace

KnobTable make_fused_knobs(const detail::DeviceTraits& traits, const RunOptions& options) {
  std::vector<KnobDef> knobs = {
      integer_knob("bm", "CTA tile rows (output channels; input channels for the data gradient)", Affects::both,
                   &kTileSizes,
                   [traits, options](const Problem& p) -> int64_t { return default_knobs(p, traits, options).bm; }),
      integer_knob("bn", "CTA tile columns (pixels across images; (c, t) pairs for the weight gradient)", Affects::both,
                   &kTileSizes, [](const Problem&) -> int64_t { return 64; }),
      integer_knob("bk", "reduction step of the CTA tile", Affects::both, &kStepSizes,
                   [traits, options](const Problem& p) -> int64_t { return default_knobs(p, traits, options).bk; }),
      warps_along_rows(traits, options),
      integer_knob("wn", "warps along the tile's columns", Affects::both, &kWarps,
                   [](const Problem&) -> int64_t { return 2; }),
      integer_knob("stages", "depth of the cp.async ring of weight tiles", Affects::both, &kStages,
                   [](const Problem&) -> int64_t { return 3; }),
      {"order", "reduction order: tap-major (a sample point serves a run of channels) or channel-major",
       Affects::both, {"tap", "channel"}, {}, [](const Problem&) -> int64_t { return 0; }, {}},
  };
  // The default split depends on the tile: from the given or default bm and bk.
  KnobDef split = integer_knob("split", "weight gradient: CTAs sharing one output tile along the pixels",
                               Affects::backward, &kSplits, [traits, options](const Problem& p) -> int64_t {
                                 return default_knobs(p, traits, options).split;
                               });
  split.default_after = [traits](const Problem& p, const Config& earlier) -> int64_t {
    FusedKnobs k;
    k.bm = int(std::stoll(*earlier.find("bm")));
    k.bn = int(std::stoll(*earlier.find("bn")));
    k.bk = int(std::stoll(*earlier.find("bk")));
    return default_split(p, k, traits);
  };
  knobs.push_back(std::move(split));
  const bool deterministic = options.deterministic;
  knobs.push_back(
      {"atomic", "how the data gradient writes grad_x: a plain atomic scatter, or gather (deterministic)",
       Affects::backward, {"plain", "gather"},
       [deterministic](const Problem&) {
         return std::vector<int64_t>{deterministic ? kAtomicGather : kAtomicPlain};
       },
       [deterministic](const Problem&) -> int64_t { return deterministic ? kAtomicGather : kAtomicPlain; },
       [deterministic](const Problem&, int64_t v) -> std::string {
         if (deterministic && v != kAtomicGather)
           return "floating-point atomics sum in a varying order: a deterministic engine runs atomic=gather";
         return {};
       }});
  // Without the gather the step changes nothing: one candidate (N), so the tuner does not time copies.
  const std::size_t l2_bytes = traits.l2_bytes;
  knobs.push_back(
      {"step", "images per chunk of the deterministic data gradient (its column gradient holds this many)",
       Affects::backward, {},
       [deterministic, l2_bytes](const Problem& p) {
         std::vector<int64_t> steps = {deterministic ? int64_t(default_step(p, l2_bytes)) : p.N};
         if (deterministic) {
           for (int64_t step = 1; step <= std::min<int64_t>(p.N, kMaxTunedStep); step *= 2) steps.push_back(step);
           std::sort(steps.begin(), steps.end());
           steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
         }
         return steps;
       },
       [deterministic, l2_bytes](const Problem& p) -> int64_t {
         return deterministic ? int64_t(default_step(p, l2_bytes)) : p.N;
       },
       [](const Problem& p, int64_t v) -> std::string {
         if (v >= 1 && v <= p.N) return {};
         return fmt::format("expected 1 to N={}", p.N);
       }});
  ConfigCheck check = [traits, options](const Problem& p, const KnobTable& table, const Config& config) {
    return tile_problem(p, FusedKnobs::of(table, config), mma_kind(p.dtype, options), traits);
  };
  // Tiles far larger than the problem's dimensions only idle their threads: never faster than the next
  // smaller tile, which the tuner keeps.
  ConfigCheck prune = [](const Problem& p, const KnobTable& table, const Config& config) -> std::string {
    const FusedKnobs k = FusedKnobs::of(table, config);
    const int64_t Cog = p.Co / p.groups, Cg = p.C / p.groups;
    if (k.bm > 32 && k.bm >= 2 * round_up(std::max(Cog, Cg), 16)) return "bm is over twice the channels";
    if (k.bn > 32 && k.bn >= 2 * round_up(p.N * p.Ho() * p.Wo(), 16)) return "bn is over twice the pixels";
    if (k.bk > 16 && k.bk >= 2 * round_up(std::max(Cg * p.taps(), Cog), 16)) return "bk is over twice the reduction";
    return {};
  };
  return KnobTable("fused", std::move(knobs), std::move(check), std::move(prune));
}

}  // namespace dcnjit::algo::fused
