// `dcnjit profile` as a user runs it: an --svg path that cannot be written fails before any measuring.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/run_dcnjit.h"

namespace dcnjit::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using dcnjit::testing::run_dcnjit;

// The chart was written after the whole profile had run (minutes on a real layer), and only then did
// the missing directory show. Now the path is opened first: the error comes before any output.
TEST(ProfileCommand, SvgPathThatCannotBeWrittenFailsBeforeProfiling) {
  const auto result = run_dcnjit({"profile", "--forward", "--problem", "N1 C8 H16 W16 Co8 k3 p1", "--svg",
                                  "/nonexistent-dcnjit-dir/x.svg", "--repeats", "1", "--warmup", "0"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("--svg '/nonexistent-dcnjit-dir/x.svg': cannot open for writing"));
  EXPECT_THAT(result.output, Not(HasSubstr("im2col")));  // no phase table: nothing was profiled
}

}  // namespace
}  // namespace dcnjit::test
