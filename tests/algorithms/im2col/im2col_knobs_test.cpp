// The im2col algorithm's knob table: what the tuner enumerates per direction, what resolution rejects
// (naming the knob), the per-backend GEMM knobs and the heuristic im2col step.
#include "algorithms/im2col/im2col_knobs.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "algorithms/launch_context.h"
#include "dcnjit/error.h"

namespace dcnjit::algo::im2col {
namespace {

Problem layer() { return Problem::parse("N8 C128 H100 W152 Co128 k3x3 p1x1 mask bias v2 f32"); }

detail::DeviceTraits sim_traits() { return detail::DeviceTraits{}; }
detail::DeviceTraits cuda_traits() {
  detail::DeviceTraits traits;
  traits.backend = Backend::cuda;
  traits.gemm_algorithms = 8;
  return traits;
}

void expect_rejected(const KnobTable& table, const char* text, const std::string& needle) {
  try {
    table.resolve(layer(), Config::parse(text));
    FAIL() << text << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Im2colKnobs, ResolutionRejectsValuesOutsideTheTableNamingTheKnob) {
  const KnobTable table = make_im2col_knobs(sim_traits());
  expect_rejected(table, "threads=96", "threads=96 is invalid for algorithm im2col (expected one of 128, 256, 512");
  expect_rejected(table, "items=3", "items=3 is invalid");
  expect_rejected(table, "split=3", "split=3 is invalid for algorithm im2col (expected one of 1, 2, 4, 8, 16, 32");
  expect_rejected(table, "split=64", "split=64 is invalid");
  expect_rejected(table, "atomic=block",
                  "atomic=block is invalid for algorithm im2col (expected one of plain, warp, gather)");
  expect_rejected(table, "atomic=gather", "atomic=gather needs bwd=split");
  expect_rejected(table, "bwd=maybe", "expected one of fused, split");
  expect_rejected(table, "step=9", "step=9 is invalid for algorithm im2col (expected 1 to N=8");
  expect_rejected(table, "cols=keep", "unknown knob 'cols'");
  expect_rejected(table, "ept=2", "unknown knob 'ept'");
  expect_rejected(table, "gemm_fwd=1", "unknown knob 'gemm_fwd'");  // the sim has one GEMM
  // 136,800 work items per image; 2 lanes each fill the modelled H100's 270,336 resident threads.
  EXPECT_EQ(table.defaults(layer()).to_string(), "im2col step=1 threads=256 items=1 split=2 bwd=fused atomic=plain");
}

TEST(Im2colKnobs, TheCudaTableHasAGemmKnobPerRole) {
  const KnobTable table = make_im2col_knobs(cuda_traits());
  EXPECT_EQ(table.defaults(layer()).to_string(),
            "im2col step=1 threads=256 items=1 split=2 bwd=fused atomic=plain gemm_fwd=0 gemm_dcol=0 gemm_wgrad=0");
  EXPECT_EQ(*table.resolve(layer(), Config::parse("gemm_dcol=7")).find("gemm_dcol"), "7");
  expect_rejected(table, "gemm_wgrad=8", "expected 0 to 7");
  const Im2colKnobs k =
      Im2colKnobs::of(table, table.resolve(layer(), Config::parse("gemm_fwd=1 gemm_dcol=2 gemm_wgrad=3")));
  EXPECT_EQ(k.gemm_forward, 1);
  EXPECT_EQ(k.gemm_dcol, 2);
  EXPECT_EQ(k.gemm_weight, 3);
}

TEST(Im2colKnobs, EveryEnumeratedConfigResolvesToItselfAndIsDistinct) {
  const KnobTable table = make_im2col_knobs(cuda_traits());
  for (Direction direction : {Direction::forward, Direction::backward}) {
    const std::vector<Config> configs = table.enumerate(layer(), direction);
    ASSERT_FALSE(configs.empty());
    for (std::size_t i = 0; i < configs.size(); ++i) {
      EXPECT_EQ(table.resolve(layer(), configs[i]), configs[i]) << configs[i].to_string();
      for (std::size_t j = 0; j < i; ++j) EXPECT_NE(configs[i], configs[j]) << configs[i].to_string();
    }
  }
}

TEST(Im2colKnobs, BackwardVariesFusionAtomicsAndItsGemmsForwardDoesNot) {
  const KnobTable table = make_im2col_knobs(cuda_traits());
  auto values = [&](Direction direction, const char* knob) {
    std::vector<std::string> seen;
    for (const Config& c : table.enumerate(layer(), direction))
      if (std::find(seen.begin(), seen.end(), *c.find(knob)) == seen.end()) seen.push_back(*c.find(knob));
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  EXPECT_EQ(values(Direction::forward, "bwd"), std::vector<std::string>{"fused"});
  EXPECT_EQ(values(Direction::forward, "atomic"), std::vector<std::string>{"plain"});
  EXPECT_EQ(values(Direction::forward, "gemm_dcol"), std::vector<std::string>{"0"});
  EXPECT_EQ(values(Direction::backward, "bwd"), (std::vector<std::string>{"fused", "split"}));
  EXPECT_EQ(values(Direction::backward, "atomic"), (std::vector<std::string>{"gather", "plain", "warp"}));
  // The split changes both directions' kernels: up to a warp, at most C/og = 128 channels.
  EXPECT_EQ(values(Direction::forward, "split"), (std::vector<std::string>{"1", "16", "2", "32", "4", "8"}));
  EXPECT_EQ(values(Direction::backward, "gemm_fwd"), std::vector<std::string>{"0"});
  EXPECT_EQ(values(Direction::backward, "gemm_wgrad"), (std::vector<std::string>{"0", "1", "2", "3"}));
  // 8 images of 70 MB of f32 columns each; 4x the 37.5 MB L2 budget holds 2: steps 1 and 2.
  EXPECT_EQ(values(Direction::backward, "step"), (std::vector<std::string>{"1", "2"}));
}

TEST(Im2colKnobs, PrunesItemsPerThreadBeyondTheWork) {
  // 1 image, 1 offset group, 9 taps, 4x4 pixels: 144 work items; items=2 already needs 256 threads' worth
  // of items at 128 threads and split 1, while split 4 gives the chunk 576 lanes.
  const Problem tiny = Problem::parse("N1 C4 H4 W4 Co4 k3x3 p1x1 nomask v2 f32");
  const KnobTable table = make_im2col_knobs(sim_traits());
  bool saw_items2 = false;
  for (const Config& c : table.enumerate(tiny, Direction::forward)) {
    const int items = std::stoi(*c.find("items")), split = std::stoi(*c.find("split"));
    const int threads = std::stoi(*c.find("threads"));
    if (items > 1) {
      EXPECT_GE(144 * split, threads * items) << c.to_string();
    }
    saw_items2 |= items == 2;
  }
  EXPECT_TRUE(saw_items2) << "items=2 threads=128 split=2 covers 288 >= 256 lanes: kept";
  // Pruned from the search, but a valid config: it resolves.
  EXPECT_EQ(*table.resolve(tiny, Config::parse("items=4 threads=128 split=1")).find("items"), "4");
}

TEST(Im2colKnobs, SplitIsAtMostTheChannelsOfAnOffsetGroup) {
  const KnobTable table = make_im2col_knobs(sim_traits());
  const Problem p = Problem::parse("N1 C12 H8 W8 Co4 k3x3 p1x1 og3 nomask v2 f32");  // 4 channels per group
  EXPECT_EQ(*table.resolve(p, Config::parse("split=4")).find("split"), "4");
  try {
    table.resolve(p, Config::parse("split=8"));
    FAIL() << "split=8 with 4 channels per offset group was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("split=8 is invalid for algorithm im2col (at most the 4 channels of an "
                                         "offset group"),
              std::string::npos)
        << e.what();
  }
  std::vector<std::string> splits;
  for (const Config& c : table.enumerate(p, Direction::forward))
    if (std::find(splits.begin(), splits.end(), *c.find("split")) == splits.end()) splits.push_back(*c.find("split"));
  std::sort(splits.begin(), splits.end());
  EXPECT_EQ(splits, (std::vector<std::string>{"1", "2", "4"}));
}

TEST(Im2colSplit, HeuristicFillsTheDeviceOnceAndKeepsFourChannelsPerLane) {
  const detail::DeviceTraits h100 = sim_traits();  // 132 SMs, 50 MB L2
  // DCNv2 R50 256-channel layer, f16: 2 images per chunk, 68,400 items; x4 = 273,600 >= 132 * 2048.
  EXPECT_EQ(default_split(Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask f16"), h100), 4);
  // f32, 128 channels at 100x152: one image per chunk, 136,800 items: 2.
  EXPECT_EQ(default_split(layer(), h100), 2);
  // Few items: the split grows to the cap of C/og / 4 channels per lane (64 / 4 = 16), never past 32.
  EXPECT_EQ(default_split(Problem::parse("N1 C64 H8 W8 Co8 k3x3 p1x1 v2"), h100), 16);
  EXPECT_EQ(default_split(Problem::parse("N1 C1024 H8 W8 Co8 k3x3 p1x1 v2"), h100), 32);
  EXPECT_EQ(default_split(Problem::parse("N1 C6 H8 W8 Co8 k3x3 p1x1 v2"), h100), 1);
  // A device with more SMs wants more lanes for the same layer.
  detail::DeviceTraits big = h100;
  big.sm_count = 264;
  EXPECT_EQ(default_split(Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask f16"), big), 8);
  // NHWC: at least 32 bytes of adjacent channels per corner load (8 f32 lanes, 16 f16 lanes), even when
  // the work alone would not ask for it.
  // One 200x304 image per chunk (its columns exceed the L2 budget): 547,200 items, enough at split 1.
  const Problem many = Problem::parse("N4 C256 H200 W304 Co256 k3x3 p1x1 mask f32");
  EXPECT_EQ(default_split(many, h100), 1);
  Problem many_nhwc = many;
  many_nhwc.layout = Layout::nhwc;
  EXPECT_EQ(default_split(many_nhwc, h100), 8);
  many_nhwc.dtype = DType::f16;
  EXPECT_EQ(default_split(many_nhwc, h100), 16);
}

TEST(Im2colKnobs, ADeterministicTableOffersOnlyTheGatherCol2im) {
  RunOptions options;
  options.deterministic = true;
  const KnobTable table = make_im2col_knobs(sim_traits(), options);
  const Config defaults = table.defaults(layer());
  EXPECT_EQ(*defaults.find("atomic"), "gather");
  EXPECT_EQ(*defaults.find("bwd"), "split");
  EXPECT_EQ(table.resolve(layer(), Config::parse("")), defaults);
  for (Direction d : {Direction::forward, Direction::backward})
    for (const Config& c : table.enumerate(layer(), d)) {
      EXPECT_EQ(*c.find("atomic"), "gather") << c.to_string();
      EXPECT_EQ(*c.find("bwd"), "split") << c.to_string();
    }
  for (const char* text : {"atomic=plain bwd=split", "atomic=warp bwd=split"}) {
    try {
      table.resolve(layer(), Config::parse(text));
      ADD_FAILURE() << text << " was accepted by a deterministic table";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("a deterministic engine runs atomic=gather"), std::string::npos)
          << e.what();
    }
  }
  try {
    table.resolve(layer(), Config::parse("bwd=fused"));
    ADD_FAILURE() << "bwd=fused was accepted by a deterministic table";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("atomic=gather needs bwd=split"), std::string::npos) << e.what();
  }
}

TEST(Im2colKnobs, ItemsPerBlockAndPerThreadAreBoundedByRegisters) {
  const KnobTable table = make_im2col_knobs(sim_traits());
  expect_rejected(table, "items=2 threads=512", "at most 512 items per block");
  expect_rejected(table, "items=4 threads=256", "at most 512 items per block");
  const Problem big = Problem::parse("N1 C64 H4200 W4200 Co64 k3x3 p1x1 nomask v2 f16");  // 64-bit indices
  try {
    table.resolve(big, Config::parse("items=4 threads=128"));
    FAIL() << "4 items with 64-bit indices were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at most 2 items per thread with 64-bit indices"), std::string::npos);
  }
  for (Direction d : {Direction::forward, Direction::backward})
    for (const Config& c : table.enumerate(layer(), d))
      EXPECT_LE(std::stoi(*c.find("items")) * std::stoi(*c.find("threads")), 512) << c.to_string();
}

TEST(Im2colStep, HeuristicKeepsOneChunksColumnsInThreeQuartersOfL2) {
  constexpr std::size_t kH100L2 = std::size_t(50) << 20;
  // f32, 128 * 9 rows of 15200 pixels = 70 MB per image: more than the budget, so one image per chunk.
  EXPECT_EQ(default_step(layer(), kH100L2), 1);
  // The DCNv2 R50 256-channel layer in f16: 256 * 9 * 3800 * 2 = 17.5 MB per image; 37.5 MB holds 2.
  const Problem r50 = Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask bias v2 f16");
  EXPECT_EQ(default_step(r50, kH100L2), 2);
  Problem small = layer();
  small.N = 2;
  EXPECT_EQ(default_step(small, std::size_t(1) << 40), 2);  // never more than N
}

TEST(Im2colStep, HeuristicSpreadsImagesEvenlyOverTheChunks) {
  // 1 channel, 1 tap, 64 pixels of f32: 256 bytes of columns per image; an L2 of 2400 bytes budgets
  // 1800, room for 7 images.
  Problem p = Problem::parse("N8 C1 H8 W8 Co1 k1x1 nomask nobias v2");
  EXPECT_EQ(default_step(p, 2400), 4) << "8 images with room for 7: 4+4, not 7+1";
  p.N = 10;
  EXPECT_EQ(default_step(p, 2900), 5) << "room for 8 (2175 bytes): 5+5, not 8+2";
  p.N = 7;
  EXPECT_EQ(default_step(p, 2400), 7);
}

TEST(Im2colStep, TheTunerAlsoTriesTheBalancedStep) {
  detail::DeviceTraits traits = sim_traits();
  traits.l2_bytes = 2400;
  const KnobTable table = make_im2col_knobs(traits);
  const Problem p = Problem::parse("N8 C1 H8 W8 Co1 k1x1 nomask nobias v2");
  const Config resolved = table.resolve(p, Config::parse(""));
  ASSERT_NE(resolved.find("step"), nullptr);
  EXPECT_EQ(*resolved.find("step"), "4");
  bool saw[9] = {};
  for (const Config& c : table.enumerate(p, Direction::forward)) saw[std::stoi(*c.find("step"))] = true;
  EXPECT_TRUE(saw[1] && saw[2] && saw[4] && saw[8]);
}

}  // namespace
}  // namespace dcnjit::algo::im2col
