// The fused algorithm's knob table: defaults per dtype (FFMA for f32, WMMA tiles for 16-bit, tf32 only
// with allow_tf32), the tile checks that keep every config compilable (warp tiles, registers, shared
// memory within the device's limit), what the pruning drops, and the weight gradient's split heuristic.
#include "algorithms/fused/fused_knobs.h"

#include <gtest/gtest.h>

#include <vector>

#include "algorithms/fused/fused_tiles.h"
#include "dcnjit/error.h"

namespace dcnjit::algo::fused {
namespace {

Problem layer(DType dtype = DType::f16) {
  Problem p = Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask bias v2");
  p.dtype = dtype;
  return p;
}

detail::DeviceTraits h100() {
  detail::DeviceTraits traits;
  traits.backend = Backend::cuda;
  traits.sm_count = 132;
  traits.max_dynamic_shared_bytes = 227 * 1024;
  return traits;
}

void expect_rejected(const KnobTable& table, const Problem& problem, const char* text, const std::string& needle) {
  try {
    table.resolve(problem, Config::parse(text));
    FAIL() << text << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FusedKnobs, TheMmaFollowsTheDtypeAndTheTf32Switch) {
  EXPECT_EQ(mma_kind(DType::f16, {}), MmaKind::f16);
  EXPECT_EQ(mma_kind(DType::bf16, {}), MmaKind::bf16);
  EXPECT_EQ(mma_kind(DType::f32, {}), MmaKind::ffma);  // exact f32 by default
  RunOptions tf32;
  tf32.allow_tf32 = true;
  EXPECT_EQ(mma_kind(DType::f32, tf32), MmaKind::tf32);
  EXPECT_EQ(mma_kind(DType::f16, tf32), MmaKind::f16);
}

TEST(FusedKnobs, DefaultsAreValidTilesAndTheSplitFillsTheDevice) {
  const KnobTable table = make_fused_knobs(h100(), {});
  // 256 output channels: 128-row tiles (half the sampling of 64-row ones) on 4 x 2 warps. The weight
  // gradient's 2 x 36 output tiles (Co 256 / 128, 256 * 9 / 64) are split in four: two waves of 132 SMs
  // need 264 CTAs.
  EXPECT_EQ(table.defaults(layer()).to_string(),
            "fused bm=128 bn=64 bk=32 wm=4 wn=2 stages=3 order=tap split=4 atomic=plain step=8");
  // With 64-bit indices (128 + 64) x 32 operands over 256 threads are 24 values per thread in flight,
  // within that case's 32: still 128 rows.
  const Problem huge = Problem::parse("N64 C256 H256 W256 Co256 k3x3 p1x1 mask f16");
  EXPECT_EQ(*table.defaults(huge).find("bm"), "128");
  // Four offset groups of 64 channels: the data gradient's chunks hold 64 channels, so 64-row tiles.
  EXPECT_EQ(*table.defaults(Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 og4 mask f16")).find("bm"), "64");
  // 64 output channels: 64-row tiles; 32 channels: 32.
  EXPECT_EQ(*table.defaults(Problem::parse("N1 C64 H50 W76 Co64 k3x3 p1x1 mask f16")).find("bm"), "64");
  EXPECT_EQ(*table.defaults(Problem::parse("N1 C64 H50 W76 Co32 k3x3 p1x1 mask f16")).find("bm"), "32");
  // f32 (FFMA): a 16-deep step (the FFMA loop keeps fewer operands live).
  EXPECT_EQ(*table.defaults(layer(DType::f32)).find("bk"), "16");
  // 64 channels: 1 x 9 tiles, split up to the cap of 16 while each CTA keeps >= 4 steps of 32 pixels
  // (3800 / 16 = 237).
  const Problem small = Problem::parse("N1 C64 H50 W76 Co64 k3x3 p1x1 mask f16");
  EXPECT_EQ(*table.defaults(small).find("split"), "16");
  for (const Problem& p : {layer(), layer(DType::f32), layer(DType::bf16), small, huge})
    EXPECT_EQ(table.why_not(p, table.defaults(p)), "") << p.to_string();
}

// The default warps follow a given bm: "bm=32" alone on a layer whose default tile is 128 rows on 4 x 2
// warps resolves to 2 x 2 warps (4 warps of 16 rows do not fit 32 rows), and the split to its tile.
TEST(FusedKnobs, APartialConfigGetsDefaultsThatFitIt) {
  const KnobTable table = make_fused_knobs(h100(), {});
  const Config small = table.resolve(layer(), Config::parse("fused bm=32"));
  EXPECT_EQ(*small.find("wm"), "2") << small.to_string();
  EXPECT_EQ(table.why_not(layer(), small), "");
  const Config tall = table.resolve(layer(), Config::parse("fused bm=128"));
  EXPECT_EQ(*tall.find("wm"), "4") << tall.to_string();
  // 8 x 36 weight-gradient tiles at bm=32 already fill two waves of 132 SMs: no split.
  EXPECT_EQ(*small.find("split"), "1") << small.to_string();
}

TEST(FusedKnobs, TileChecksNameTheLimit) {
  const KnobTable table = make_fused_knobs(h100(), {});
  expect_rejected(table, layer(), "bm=32 wm=4", "each warp's tile must be a multiple of 16 x 16");
  expect_rejected(table, layer(), "bm=128 bn=128 wm=1 wn=2", "accumulator fragments per warp (at most 8: registers)");
  expect_rejected(table, layer(), "wm=4 wn=4", "at most 8 warps");
  expect_rejected(table, layer(), "bm=128 bn=128 bk=64 wm=4 wn=2", "operand values per thread");
  expect_rejected(table, layer(DType::f32), "bm=128 bn=128 wm=2 wn=2", "accumulators per thread (at most 64");
  expect_rejected(table, layer(), "bk=48", "bk=48 is invalid");
  detail::DeviceTraits small_shared = h100();
  small_shared.max_dynamic_shared_bytes = 48 * 1024;
  expect_rejected(make_fused_knobs(small_shared, {}), layer(), "bm=128 bn=64 bk=64 wm=4 wn=2 stages=4",
                  "bytes of shared memory, the device allows 49152");
}

TEST(FusedKnobs, SharedMemoryIsTheOperandRingOrTheEpilogueTile) {
  FusedKnobs k;  // 64 x 64 x 32, 2 x 2 warps, 3 stages
  // f16: A ring 3 * 64 * (32 + 8) + B pair 2 * 32 * (64 + 8) halves = 12288 * 2 = 24576 bytes; the
  // f32 C tile is 64 * 68 * 4 = 17408.
  EXPECT_EQ(shared_bytes(Kernel::forward, k, MmaKind::f16), 24576u);
  // f32 operands (pad 4): 3 * 64 * 36 + 2 * 32 * 68 = 11264 floats = 45056 bytes.
  EXPECT_EQ(shared_bytes(Kernel::forward, k, MmaKind::ffma), 45056u);
  // The data gradient's epilogue adds the subgroups' scratch when threads > BN: 256 threads over
  // 64 columns = 4 subgroups x 64 x 5 floats.
  k.wm = 4;
  k.wn = 2;
  k.stages = 2;
  EXPECT_EQ(shared_bytes(Kernel::data_gradient, k, MmaKind::f16), std::size_t(64 * 68 * 4 + 4 * 64 * 5 * 4));
}

TEST(FusedKnobs, PruningDropsTilesFarLargerThanTheProblem) {
  const KnobTable table = make_fused_knobs(h100(), {});
  const Problem tiny = Problem::parse("N1 C4 H5 W5 Co4 k3x3 p1x1 mask f16");
  const std::vector<Config> space = table.enumerate(tiny, Direction::forward);
  ASSERT_GT(space.size(), 1u);
  // After the heuristic's config (always first, pruned or not):
  for (const Config& config : std::vector<Config>(space.begin() + 1, space.end())) {
    EXPECT_EQ(*config.find("bm"), "32") << config.to_string();
    EXPECT_EQ(*config.find("bn"), "32") << config.to_string();  // 25 pixels
  }
  // ... and keeps the whole tile space of a real layer.
  bool saw_large = false;
  for (const Config& config : table.enumerate(layer(), Direction::forward))
    saw_large |= *config.find("bm") == "128" && *config.find("bn") == "128";
  EXPECT_TRUE(saw_large);
}

TEST(FusedKnobs, OnlyTheSplitIsBackwardOnly) {
  const KnobTable table = make_fused_knobs(h100(), {});
  const std::string heuristic = *table.defaults(layer()).find("split");
  for (const Config& config : table.enumerate(layer(), Direction::forward))
    EXPECT_EQ(*config.find("split"), heuristic);
  bool split = false;
  for (const Config& config : table.enumerate(layer(), Direction::backward)) split |= *config.find("split") != "1";
  EXPECT_TRUE(split);
}

// A deterministic engine's table offers only the gather (atomic=gather) and rejects the scatter with the
// reason; a non-deterministic one tunes only the scatter (the step at N, changing nothing) but runs the
// gather when asked for.
TEST(FusedKnobs, ADeterministicEngineOffersOnlyTheGather) {
  detail::DeviceTraits traits = h100();
  traits.l2_bytes = 50u << 20;
  RunOptions deterministic;
  deterministic.deterministic = true;
  const KnobTable table = make_fused_knobs(traits, deterministic);
  const Config defaults = table.defaults(layer());
  EXPECT_EQ(*defaults.find("atomic"), "gather");
  // 256 * 9 * 50 * 76 * 4 bytes = 35 MB of column gradient per image: one image per chunk in 37.5 MB.
  EXPECT_EQ(*defaults.find("step"), "1");
  EXPECT_EQ(default_step(Problem::parse("N8 C64 H14 W14 Co64 k3x3 p1x1 f16"), traits.l2_bytes), 8);
  EXPECT_EQ(table.why_not(layer(), defaults), "");
  expect_rejected(table, layer(), "atomic=plain", "a deterministic engine runs atomic=gather");
  expect_rejected(table, layer(), "step=9", "expected 1 to N=8");
  const std::vector<Config> space = table.enumerate(layer(), Direction::backward);
  ASSERT_GT(space.size(), 1u);
  bool other_step = false;
  for (const Config& config : space) {
    EXPECT_EQ(*config.find("atomic"), "gather") << config.to_string();
    other_step |= *config.find("step") != "1";
  }
  EXPECT_TRUE(other_step) << "the tuner tries other steps";

  const KnobTable atomic = make_fused_knobs(traits, {});
  for (const Config& config : atomic.enumerate(layer(), Direction::backward)) {
    EXPECT_EQ(*config.find("atomic"), "plain") << config.to_string();
    EXPECT_EQ(*config.find("step"), "8") << config.to_string();
  }
  EXPECT_EQ(*atomic.resolve(layer(), Config::parse("atomic=gather step=2")).find("atomic"), "gather");
}

}  // namespace
}  // namespace dcnjit::algo::fused
