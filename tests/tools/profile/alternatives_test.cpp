// Which alternatives the profiler offers per backend and pass, and how they are labelled.
#include "tools/profile/alternatives.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dcnjit::profile {
namespace {

std::vector<std::string> labels(const std::vector<Alternative>& list) {
  std::vector<std::string> out;
  for (const auto& a : list) out.push_back(a.label);
  return out;
}

bool has(const std::vector<std::string>& list, const std::string& label) {
  return std::find(list.begin(), list.end(), label) != list.end();
}

TEST(ConfigDifference, NamesOnlyTheChangedKeys) {
  Config a = Config::parse("step=4 tile=0");
  Config b = Config::parse("step=2 tile=512");
  EXPECT_EQ(config_difference(a, b), "step=2 tile=512");
  EXPECT_EQ(config_difference(a, a), "");
}

TEST(Alternatives, CpuBackwardOffersStepsTilesAndKeptColumnsButNoGpuKnobs) {
  const Problem p = Problem::parse("N4 C8 H50 W76 Co8 k3x3 p1x1 mask");
  const Config chosen = Config::parse("step=4 tile=0");
  const auto l = labels(alternatives(Backend::cpu, p, chosen, Pass::backward));
  EXPECT_TRUE(has(l, "step=1"));
  EXPECT_TRUE(has(l, "step=2"));
  EXPECT_FALSE(has(l, "step=4")) << "the chosen config itself is not an alternative";
  EXPECT_TRUE(has(l, "tile=512"));
  EXPECT_TRUE(has(l, "tile=2048"));
  EXPECT_TRUE(has(l, "cols=keep"));
  EXPECT_FALSE(has(l, "bwd=split"));
  EXPECT_FALSE(has(l, "atomic=warp"));
}

TEST(Alternatives, CpuForwardHasNoBackwardOnlyChoices) {
  const Problem p = Problem::parse("N1 C8 H50 W76 Co8 k3x3 p1x1");
  const auto l = labels(alternatives(Backend::cpu, p, Config::parse("step=1 tile=512"), Pass::forward));
  EXPECT_FALSE(has(l, "cols=keep"));
  EXPECT_TRUE(has(l, "tile=0"));
  EXPECT_FALSE(has(l, "step=2")) << "a batch of one has no other im2col step";
}

TEST(Alternatives, TilesNotSmallerThanTheImageAreNotOffered) {
  const Problem p = Problem::parse("N1 C8 H10 W10 Co8 k3x3 p1x1");  // 100 output pixels
  const auto l = labels(alternatives(Backend::cpu, p, Config::parse("step=1 tile=0"), Pass::forward));
  EXPECT_FALSE(has(l, "tile=128"));
  EXPECT_FALSE(has(l, "tile=512"));
}

TEST(Alternatives, SimBackwardOffersSplitVsFusedAndEveryAtomicStrategy) {
  const Problem p = Problem::parse("N2 C8 H8 W8 Co8 k3x3 p1x1 mask");
  const Config chosen = Config::parse("step=2 bwd=fused atomic=plain threads=256 ept=1");
  const auto l = labels(alternatives(Backend::sim, p, chosen, Pass::backward));
  EXPECT_TRUE(has(l, "bwd=split"));
  EXPECT_TRUE(has(l, "atomic=warp"));
  EXPECT_TRUE(has(l, "atomic=block"));
  EXPECT_FALSE(has(l, "atomic=plain"));
  EXPECT_TRUE(has(l, "cols=keep"));
  EXPECT_TRUE(has(l, "threads=128"));
  EXPECT_TRUE(has(l, "ept=2"));
  EXPECT_TRUE(has(l, "step=1"));
}

TEST(Alternatives, NoDuplicates) {
  const Problem p = Problem::parse("N8 C8 H64 W64 Co8 k3x3 p1x1 mask");
  auto l = labels(alternatives(Backend::cuda, p, Config::parse("step=8"), Pass::backward));
  const auto count = l.size();
  std::sort(l.begin(), l.end());
  l.erase(std::unique(l.begin(), l.end()), l.end());
  EXPECT_EQ(l.size(), count);
}

}  // namespace
}  // namespace dcnjit::profile
