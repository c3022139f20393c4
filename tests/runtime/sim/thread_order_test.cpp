#include "runtime/sim/thread_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "dcnjit/error.h"

namespace dcnjit::sim {
namespace {

std::vector<unsigned> ascending(unsigned n) {
  std::vector<unsigned> ids(n);
  std::iota(ids.begin(), ids.end(), 0u);
  return ids;
}

TEST(SimThreadOrder, ParsesEveryFormAndRoundTrips) {
  EXPECT_EQ(ThreadOrder::parse("in_order"), ThreadOrder::in_order());
  EXPECT_EQ(ThreadOrder::parse("reversed"), ThreadOrder::reversed());
  EXPECT_EQ(ThreadOrder::parse("random"), ThreadOrder::random(1));
  EXPECT_EQ(ThreadOrder::parse("random:42"), ThreadOrder::random(42));
  for (const ThreadOrder& order : {ThreadOrder::in_order(), ThreadOrder::reversed(), ThreadOrder::random(9)})
    EXPECT_EQ(ThreadOrder::parse(order.to_string()), order);
}

TEST(SimThreadOrder, RejectsUnknownTextNamingTheOrigin) {
  for (const char* bad : {"", "forward", "random:", "random:x", "random:-1", "random:12z"}) {
    try {
      ThreadOrder::parse(bad, "DCNJIT_SIM_ORDER");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      EXPECT_THAT(e.what(), ::testing::HasSubstr("DCNJIT_SIM_ORDER"));
    }
  }
}

TEST(SimThreadOrder, EnvironmentVariableSelectsTheOrder) {
  ASSERT_EQ(setenv("DCNJIT_SIM_ORDER", "random:5", 1), 0);
  const ThreadOrder order = ThreadOrder::from_environment();
  unsetenv("DCNJIT_SIM_ORDER");
  EXPECT_EQ(order, ThreadOrder::random(5));
  EXPECT_EQ(ThreadOrder::from_environment(), ThreadOrder::in_order());
}

TEST(SimThreadOrder, ArrangeProducesTheNamedPermutation) {
  std::vector<unsigned> ids = ascending(8);
  ThreadOrder::in_order().arrange(ids, 0, 0);
  EXPECT_EQ(ids, ascending(8));
  ThreadOrder::reversed().arrange(ids, 0, 0);
  EXPECT_EQ(ids, (std::vector<unsigned>{7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(SimThreadOrder, RandomIsAReproduciblePermutationThatVariesWithBlockAndPhase) {
  auto arranged = [](uint64_t seed, uint64_t block, uint64_t phase) {
    std::vector<unsigned> ids = ascending(64);
    ThreadOrder::random(seed).arrange(ids, block, phase);
    return ids;
  };
  const std::vector<unsigned> a = arranged(3, 0, 0);
  EXPECT_EQ(a, arranged(3, 0, 0));
  std::vector<unsigned> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, ascending(64));
  // 64! permutations: a collision between these streams would mean the inputs are ignored.
  EXPECT_NE(a, ascending(64));
  EXPECT_NE(a, arranged(4, 0, 0));
  EXPECT_NE(a, arranged(3, 1, 0));
  EXPECT_NE(a, arranged(3, 0, 1));
}

}  // namespace
}  // namespace dcnjit::sim
