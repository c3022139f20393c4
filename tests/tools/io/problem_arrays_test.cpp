// tools/io/problem_arrays: what a `dcnjit run` input directory tells about the problem, and the error for
// every kind of inconsistency (each names the file at fault).
#include "tools/io/problem_arrays.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "dcnjit/error.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::io {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;

using Shapes = std::map<std::string, std::vector<int64_t>>;

// Writes <name>.npy for every entry, filled with a ramp (values are irrelevant here).
void write_arrays(const ScratchDirectory& dir, const Shapes& shapes) {
  for (const auto& [name, shape] : shapes) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::vector<float> values(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i % 7) - 3.0f;
    write_npy(dir / (name + ".npy"), values, shape);
  }
}

// A consistent 3x3, pad 1 problem: x [2, 4, 5, 6], one offset group, mask and bias.
Shapes base_shapes() {
  return {{"x", {2, 4, 5, 6}},      {"weight", {3, 4, 3, 3}}, {"offset", {2, 18, 5, 6}},
          {"mask", {2, 9, 5, 6}},   {"bias", {3}},            {"grad_y", {2, 3, 5, 6}}};
}

Problem pad1() {
  Problem p;
  p.pad_h = p.pad_w = 1;
  return p;
}

// Loads and expects Error(code) whose message contains `what` (which should name the file).
void expect_error(const ScratchDirectory& dir, const Problem& params, ErrorCode code, const std::string& what,
                  GradYFile grad_y = GradYFile::optional) {
  try {
    load_problem_arrays(dir.path(), params, grad_y);
    ADD_FAILURE() << "no error; expected: " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(what));
  }
}

TEST(ProblemArrays, InfersShapesMaskBiasAndOffsetGroupsFromTheFiles) {
  ScratchDirectory dir;
  // groups 2, two offset groups, 3x1 kernel, stride 2x1, pad 1x0: Ho = (7+2-3)/2+1 = 4, Wo = 6.
  write_arrays(dir, {{"x", {2, 4, 7, 6}},
                     {"weight", {6, 2, 3, 1}},
                     {"offset", {2, 12, 4, 6}},
                     {"mask", {2, 6, 4, 6}},
                     {"bias", {6}}});
  Problem params;
  params.stride_h = 2;
  params.pad_h = 1;
  params.groups = 2;
  params.boundary = Boundary::v1;
  params.dtype = DType::bf16;
  const ProblemArrays a = load_problem_arrays(dir.path(), params, GradYFile::optional);
  const Problem& p = a.problem;
  EXPECT_EQ(p.to_string(), "N2 C4 H7 W6 Co6 k3x1 s2x1 p1x0 d1x1 g2 og2 mask bias v1 bf16");
  EXPECT_EQ(a.x.shape, (std::vector<int64_t>{2, 4, 7, 6}));
  ASSERT_TRUE(a.mask.has_value());
  EXPECT_EQ(a.mask->shape, (std::vector<int64_t>{2, 6, 4, 6}));
  EXPECT_FALSE(a.grad_y.has_value());
}

TEST(ProblemArrays, NoMaskNoBias) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes.erase("mask");
  shapes.erase("bias");
  write_arrays(dir, shapes);
  const ProblemArrays a = load_problem_arrays(dir.path(), pad1(), GradYFile::ignore);
  EXPECT_FALSE(a.problem.mask);
  EXPECT_FALSE(a.problem.bias);
  EXPECT_FALSE(a.mask || a.bias || a.grad_y);
}

TEST(ProblemArrays, GradYIsReadOnlyWhenAsked) {
  ScratchDirectory dir;
  write_arrays(dir, base_shapes());
  EXPECT_FALSE(load_problem_arrays(dir.path(), pad1(), GradYFile::ignore).grad_y.has_value());
  EXPECT_TRUE(load_problem_arrays(dir.path(), pad1(), GradYFile::optional).grad_y.has_value());
  EXPECT_TRUE(load_problem_arrays(dir.path(), pad1(), GradYFile::required).grad_y.has_value());
}

TEST(ProblemArraysErrors, RequiredGradYMissing) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes.erase("grad_y");
  write_arrays(dir, shapes);
  EXPECT_NO_THROW(load_problem_arrays(dir.path(), pad1(), GradYFile::optional));
  expect_error(dir, pad1(), ErrorCode::IoError,
               (dir / "grad_y.npy").string() + ": missing (backward needs the gradient of y)", GradYFile::required);
}

TEST(ProblemArraysErrors, MissingX) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes.erase("x");
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::IoError, (dir / "x.npy").string() + ": cannot open for reading");
}

TEST(ProblemArraysErrors, NotADirectory) {
  ScratchDirectory dir;
  try {
    load_problem_arrays(dir / "nothing", pad1(), GradYFile::ignore);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "nothing").string() + ": not a directory");
  }
}

TEST(ProblemArraysErrors, WrongRank) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["x"] = {4, 5, 6};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "x.npy").string() + ": expected 4 dimensions [N, C, H, W], found shape [4, 5, 6]");
}

TEST(ProblemArraysErrors, EmptyDimension) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["weight"] = {0, 4, 3, 3};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "weight.npy").string() + ": shape [0, 4, 3, 3] has an empty dimension");
}

TEST(ProblemArraysErrors, WeightChannelsDoNotMatchGroups) {
  ScratchDirectory dir;
  write_arrays(dir, base_shapes());  // weight [3, 4, 3, 3] is right for groups=1 only
  Problem params = pad1();
  params.groups = 2;
  expect_error(dir, params, ErrorCode::InvalidArgument,
               (dir / "weight.npy").string() + ": shape [3, 4, 3, 3] has 4 input channels per group, but " +
                   (dir / "x.npy").string() + " has C=4 and groups=2 needs C/groups=2");
}

TEST(ProblemArraysErrors, GroupsDoNotDivideC) {
  ScratchDirectory dir;
  write_arrays(dir, base_shapes());
  Problem params = pad1();
  params.groups = 3;
  expect_error(dir, params, ErrorCode::InvalidArgument,
               "groups=3 does not divide the C=4 input channels of " + (dir / "x.npy").string());
}

TEST(ProblemArraysErrors, OutputChannelsNotDivisibleByGroups) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["weight"] = {3, 2, 3, 3};
  write_arrays(dir, shapes);
  Problem params = pad1();
  params.groups = 2;
  expect_error(dir, params, ErrorCode::InvalidArgument,
               (dir / "weight.npy").string() + ": 3 output channels are not divisible by groups=2");
}

TEST(ProblemArraysErrors, OffsetChannelsNotAMultipleOfTwiceTheTaps) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["offset"] = {2, 10, 5, 6};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "offset.npy").string() + ": 10 channels is not a multiple of 2*kh*kw=18 (kernel 3x3 from " +
                   (dir / "weight.npy").string() + ")");
}

TEST(ProblemArraysErrors, OffsetGroupsDoNotDivideC) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["offset"] = {2, 54, 5, 6};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "offset.npy").string() + ": 54 channels mean 3 offset groups, which does not divide C=4");
}

TEST(ProblemArraysErrors, OffsetBatchDiffersFromX) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["offset"] = {1, 18, 5, 6};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "offset.npy").string() + ": batch size 1 does not match " + (dir / "x.npy").string() + " (N=2)");
}

TEST(ProblemArraysErrors, OffsetSpatialSizeDiffersFromTheOutputSize) {
  ScratchDirectory dir;
  write_arrays(dir, base_shapes());  // made for pad 1; without padding the output is 3x4
  expect_error(dir, Problem{}, ErrorCode::InvalidArgument,
               (dir / "offset.npy").string() + ": spatial size 5x6 does not match 3x4, the output size of H=5 W=6 "
                                               "with kernel 3x3, stride 1,1, pad 0,0, dilation 1,1");
}

TEST(ProblemArraysErrors, MaskShape) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["mask"] = {2, 18, 5, 6};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "mask.npy").string() + ": expected shape [2, 9, 5, 6] ([N, offset_groups*kh*kw, Ho, Wo] with "
                                             "offset_groups=1 from " + (dir / "offset.npy").string() +
                   "), found [2, 18, 5, 6]");
}

TEST(ProblemArraysErrors, BiasShape) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["bias"] = {4};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument, (dir / "bias.npy").string() + ": expected shape [3]");
}

TEST(ProblemArraysErrors, GradYShape) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["grad_y"] = {2, 3, 6, 5};
  write_arrays(dir, shapes);
  expect_error(dir, pad1(), ErrorCode::InvalidArgument,
               (dir / "grad_y.npy").string() + ": expected shape [2, 3, 5, 6] ([N, Co, Ho, Wo], the shape of y), "
                                               "found [2, 3, 6, 5]");
}

TEST(ProblemArraysErrors, KernelLargerThanThePaddedImageNamesTheParameter) {
  ScratchDirectory dir;
  Shapes shapes = base_shapes();
  shapes["x"] = {2, 4, 2, 6};
  write_arrays(dir, shapes);
  expect_error(dir, Problem{}, ErrorCode::InvalidArgument, "kernel height");
}

}  // namespace
}  // namespace dcnjit::io
