// Where bench/profile problems come from: problem strings and presets get random non-zero arrays of
// the right shapes, --dtype/--boundary override them, shape flags are refused with the flag named.
#include "tools/profile/problem_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "dcnjit/error.h"

namespace dcnjit::profile {
namespace {

TEST(LoadProblems, ProblemStringGetsRandomNonZeroArraysOfItsShapes) {
  ProblemSource source;
  source.problem = "N2 C4 H6 W5 Co3 k3x3 p1x1 mask bias";
  const auto problems = load_problems(source, Problem{});
  ASSERT_EQ(problems.size(), 1u);
  const io::ProblemArrays& a = problems[0];
  EXPECT_EQ(a.x.shape, (std::vector<int64_t>{2, 4, 6, 5}));
  EXPECT_EQ(a.offset.shape, (std::vector<int64_t>{2, 18, 6, 5}));
  ASSERT_TRUE(a.mask && a.bias && a.grad_y);
  EXPECT_EQ(a.grad_y->shape, (std::vector<int64_t>{2, 3, 6, 5}));
  auto nonzero = [](const std::vector<float>& v) { return std::none_of(v.begin(), v.end(), [](float e) { return e == 0; }); };
  EXPECT_TRUE(nonzero(a.x.data) && nonzero(a.offset.data) && nonzero(a.mask->data) && nonzero(a.weight.data));
  // Offsets stay within (-2, 2) so samples land near the tap, as in a trained layer.
  EXPECT_LT(*std::max_element(a.offset.data.begin(), a.offset.data.end()), 2.0f);
  EXPECT_GT(*std::min_element(a.offset.data.begin(), a.offset.data.end()), -2.0f);
}

TEST(LoadProblems, DtypeAndBoundaryFlagsOverrideAPreset) {
  ProblemSource source;
  source.preset = "smoke";
  Problem flags;
  flags.dtype = DType::bf16;
  flags.boundary = Boundary::v1;
  const auto problems = load_problems(source, flags);
  ASSERT_GE(problems.size(), 2u);
  for (const auto& p : problems) {
    EXPECT_EQ(p.problem.dtype, DType::bf16);
    EXPECT_EQ(p.problem.boundary, Boundary::v1);
    EXPECT_TRUE(p.grad_y.has_value());
  }
}

TEST(LoadProblems, ShapeFlagWithAProblemStringIsRefusedNamingTheFlag) {
  ProblemSource source;
  source.problem = "N1 C4 H6 W6 Co4 k3x3";
  Problem flags;
  flags.pad_h = flags.pad_w = 1;
  try {
    load_problems(source, flags);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--pad"), std::string::npos) << e.what();
  }
}

TEST(LoadProblems, ExactlyOneSourceIsRequired) {
  ProblemSource none;
  EXPECT_THROW(load_problems(none, Problem{}), Error);
  ProblemSource two;
  two.problem = "N1 C4 H6 W6 Co4";
  two.preset = "smoke";
  EXPECT_THROW(load_problems(two, Problem{}), Error);
}

// A problem that validates but whose arrays cannot exist on this machine: an error naming the tensor and
// its bytes before anything is allocated, not std::bad_alloc. (4 TiB: more than any CI machine has.)
TEST(LoadProblems, ArraysLargerThanTheMachineAreAnErrorNamingTheTensor) {
  ProblemSource source;
  source.problem = "N1 C1048576 H1024 W1024 Co1 k1";
  try {
    load_problems(source, Problem{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_NE(std::string(e.what()).find("x: cannot allocate 4.0 TiB (4398046511104 bytes) of host memory"),
              std::string::npos)
        << e.what();
  }
}

// The example: dimensions each in range, products beyond 64 bits (SIGSEGV before).
TEST(LoadProblems, SizesBeyond64BitsAreAnErrorNamingTheTensor) {
  ProblemSource source;
  source.problem = "N4096 C4096 H1073741824 W1073741824 Co1 k1";
  try {
    load_problems(source, Problem{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("x [N, C, H, W]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dcnjit::profile
