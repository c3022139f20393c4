// The kernel config space: what the tuner enumerates and what validation rejects (with the field
// named), and the heuristic im2col step.
#include "generator/config_space.h"

#include <gtest/gtest.h>

#include "dcnjit/error.h"

namespace dcnjit::gen {
namespace {

Problem layer() { return Problem::parse("N8 C128 H100 W152 Co128 k3x3 p1x1 mask bias v2 f32"); }

void expect_rejected(const Config& config, const std::string& field) {
  try {
    validate_kernel_config(layer(), config);
    FAIL() << config.to_string() << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(KernelConfigValidation, RejectsValuesOutsideTheSpaceNamingTheField) {
  Config c = default_kernel_config(layer());
  Config threads = c; threads.block_threads = 96;
  expect_rejected(threads, "threads=96");
  Config ept = c; ept.elems_per_thread = 3;
  expect_rejected(ept, "ept=3");
  Config block = c; block.atomic = AtomicStrategy::block;
  expect_rejected(block, "atomic=block");
  Config keep = c; keep.keep_columns = true;
  expect_rejected(keep, "cols=keep");
  Config step = c; step.im2col_step = 9;  // N = 8
  expect_rejected(step, "step=9");
  EXPECT_NO_THROW(validate_kernel_config(layer(), c));
}

TEST(KernelConfigSpace, EveryEnumeratedConfigIsValidAndDistinct) {
  for (Pass pass : {Pass::forward, Pass::backward}) {
    const std::vector<Config> configs = enumerate_configs(layer(), pass);
    ASSERT_FALSE(configs.empty());
    for (std::size_t i = 0; i < configs.size(); ++i) {
      EXPECT_NO_THROW(validate_kernel_config(layer(), configs[i])) << configs[i].to_string();
      for (std::size_t j = 0; j < i; ++j) EXPECT_NE(configs[i], configs[j]) << configs[i].to_string();
    }
  }
}

TEST(KernelConfigSpace, BackwardCoversFusionAndAtomicsForwardDoesNot) {
  const ConfigSpace fwd = config_space(layer(), Pass::forward), bwd = config_space(layer(), Pass::backward);
  EXPECT_EQ(fwd.fused_backward.size(), 1u);
  EXPECT_EQ(fwd.atomics.size(), 1u);
  EXPECT_EQ(bwd.fused_backward.size(), 2u);
  EXPECT_EQ(bwd.atomics.size(), 2u);
  // 8 images, 17.5e6 column elements each, budget 4 * 2^26 = 2.7e8: steps 1, 2, 4, 8 (the heuristic, 3, too).
  EXPECT_EQ(bwd.im2col_steps, (std::vector<int>{1, 2, 3, 4, 8}));
}

TEST(KernelConfigSpace, PrunesElementsPerThreadBeyondTheWork) {
  // 1 image, 1 offset group, 9 taps, 4x4 pixels: 144 work items; ept 2 already needs 256 at 128 threads.
  const Problem tiny = Problem::parse("N1 C4 H4 W4 Co4 k3x3 p1x1 nomask v2 f32");
  for (const Config& c : enumerate_configs(tiny, Pass::forward)) EXPECT_EQ(c.elems_per_thread, 1) << c.to_string();
}

TEST(Im2colStep, HeuristicKeepsColumnsWithinBudget) {
  // 128 * 9 * 100 * 152 = 17,510,400 column elements per image; 2^26 / that = 3.8 -> 3 images.
  EXPECT_EQ(default_im2col_step(layer()), 3);
  Problem small = layer();
  small.N = 2;
  EXPECT_EQ(default_im2col_step(small), 2);  // never more than N
  Config explicit_step;
  explicit_step.im2col_step = 5;
  EXPECT_EQ(resolve_im2col_step(layer(), explicit_step), 5);
}

}  // namespace
}  // namespace dcnjit::gen
