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

std::shared_ptr<detail::BackendImpl> backend(Backend kind) {
  EngineOptions options;
  options.backend = kind;
  options.threads = 1;
  return detail::make_backend(options);
}

std::vector<std::string> labels_for(Backend kind, const Problem& p, const char* chosen, Pass pass) {
  auto b = backend(kind);
  return labels(alternatives(*b, p, b->resolve(p, Config::parse(chosen)), pass));
}

TEST(ConfigDifference, NamesOnlyTheChangedKnobs) {
  Config a = Config::parse("im2col step=4 tile=0");
  Config b = Config::parse("im2col step=2 tile=512");
  EXPECT_EQ(config_difference(a, b), "step=2 tile=512");
  EXPECT_EQ(config_difference(a, a), "");
  EXPECT_EQ(config_difference(a, Config::parse("fused bm=64")), "fused bm=64");
}

TEST(Alternatives, CpuBackwardOffersStepsAndTilesButNoGpuKnobs) {
  const Problem p = Problem::parse("N4 C8 H50 W76 Co8 k3x3 p1x1 mask");
  const auto l = labels_for(Backend::cpu, p, "step=4 tile=0", Pass::backward);
  EXPECT_TRUE(has(l, "step=1"));
  EXPECT_TRUE(has(l, "step=2"));
  EXPECT_FALSE(has(l, "step=4")) << "the chosen config itself is not an alternative";
  EXPECT_TRUE(has(l, "tile=256"));
  EXPECT_TRUE(has(l, "tile=1024"));
  EXPECT_FALSE(has(l, "bwd=split"));
  EXPECT_FALSE(has(l, "atomic=warp"));
}

TEST(Alternatives, CpuForwardOfOneImageHasNoOtherStep) {
  const Problem p = Problem::parse("N1 C8 H50 W76 Co8 k3x3 p1x1");
  const auto l = labels_for(Backend::cpu, p, "step=1 tile=1024", Pass::forward);
  EXPECT_TRUE(has(l, "tile=0"));
  EXPECT_FALSE(has(l, "step=2")) << "a batch of one has no other im2col step";
}

TEST(Alternatives, TilesNotSmallerThanTheImageAreNotOffered) {
  const Problem p = Problem::parse("N1 C8 H10 W10 Co8 k3x3 p1x1");  // 100 output pixels
  const auto l = labels_for(Backend::cpu, p, "step=1 tile=0", Pass::forward);
  EXPECT_FALSE(has(l, "tile=256"));
  EXPECT_FALSE(has(l, "tile=1024"));
}

TEST(Alternatives, SimBackwardOffersSplitVsFusedAtomicsAndLaunchShapes) {
  const Problem p = Problem::parse("N2 C8 H8 W8 Co8 k3x3 p1x1 mask");
  const auto l = labels_for(Backend::sim, p, "step=2 bwd=fused atomic=plain threads=256 items=1", Pass::backward);
  EXPECT_TRUE(has(l, "bwd=split"));
  EXPECT_TRUE(has(l, "atomic=warp"));
  EXPECT_FALSE(has(l, "atomic=plain"));
  EXPECT_TRUE(has(l, "threads=128"));
  EXPECT_TRUE(has(l, "items=2"));
  EXPECT_TRUE(has(l, "step=1"));
  EXPECT_FALSE(has(l, "gemm_fwd=1")) << "the sim has one GEMM";
}

TEST(Alternatives, SimForwardHasNoBackwardOnlyKnobs) {
  const Problem p = Problem::parse("N2 C8 H8 W8 Co8 k3x3 p1x1 mask");
  const auto l = labels_for(Backend::sim, p, "step=2", Pass::forward);
  EXPECT_FALSE(has(l, "bwd=split"));
  EXPECT_FALSE(has(l, "atomic=warp"));
  EXPECT_TRUE(has(l, "threads=512"));
}

TEST(Alternatives, NoDuplicates) {
  const Problem p = Problem::parse("N8 C8 H64 W64 Co8 k3x3 p1x1 mask");
  auto l = labels_for(Backend::sim, p, "step=8", Pass::backward);
  const auto count = l.size();
  std::sort(l.begin(), l.end());
  l.erase(std::unique(l.begin(), l.end()), l.end());
  EXPECT_EQ(l.size(), count);
}

}  // namespace
}  // namespace dcnjit::profile
