// tools/io/device_problem: host <-> backend dtype conversion, and one pass through the public API whose
// every output is worked out by hand (a 1x1 deformable convolution on a 2x2 image).
#include "tools/io/device_problem.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "dcnjit/error.h"

namespace dcnjit::io {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> b;
  for (int v : values) b.push_back(std::byte(v));
  return b;
}

TEST(DeviceProblemEncode, Float16AndBfloat16BitPatterns) {
  // 1.0 = 0x3c00 (f16) = 0x3f80 (bf16); -2.0 = 0xc000 (both); little-endian bytes.
  EXPECT_EQ(encode({1.0f, -2.0f}, DType::f16), bytes({0x00, 0x3c, 0x00, 0xc0}));
  EXPECT_EQ(encode({1.0f, -2.0f}, DType::bf16), bytes({0x80, 0x3f, 0x00, 0xc0}));
  EXPECT_EQ(decode(bytes({0x00, 0x3c, 0x00, 0xc0}), DType::f16), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(decode(bytes({0x80, 0x3f, 0x00, 0xc0}), DType::bf16), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(decode(encode({0.1f, 3.5f}, DType::f32), DType::f32), (std::vector<float>{0.1f, 3.5f}));
}

TEST(DeviceProblemEncode, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between the f16 neighbours 1 and 1 + 2^-10: ties go to the even one, 1.
  EXPECT_EQ(decode(encode({1.0f + 0x1p-11f, 1.0f + 0x1.8p-10f}, DType::f16), DType::f16),
            (std::vector<float>{1.0f, 1.0f + 0x1p-9f}));
}

// x = [[1, 2], [3, 4]], one 1x1 tap with weight 2, bias 0.5, mask 0.5, every offset (dy, dx) = (0.5, 0.25):
// output pixel (ho, wo) samples (ho + 0.5, wo + 0.25). Bilinear values (corners outside count as 0):
//   (0.5, 0.25) -> 0.5*(0.75*1 + 0.25*2) + 0.5*(0.75*3 + 0.25*4) = 2.25
//   (0.5, 1.25) -> 0.5*(0.75*2) + 0.5*(0.75*4)                   = 2.25
//   (1.5, 0.25) -> 0.5*(0.75*3 + 0.25*4)                         = 1.625
//   (1.5, 1.25) -> 0.5*(0.75*4)                                  = 1.5
// y = 2 * 0.5 * value + 0.5. With grad_y = 1: grad_bias = 4, grad_weight = 0.5 * sum(values) = 3.8125,
// grad_mask = 2 * value, grad_x = the bilinear weights scattered (mask * weight = 1), and grad_offset =
// (d value / d py, d value / d px) per pixel.
ProblemArrays hand_problem(DType dtype) {
  ProblemArrays a;
  a.problem.kh = a.problem.kw = 1;
  a.problem.dtype = dtype;
  a.x = {{1, 1, 2, 2}, {1, 2, 3, 4}};
  a.weight = {{1, 1, 1, 1}, {2}};
  a.bias = HostArray{{1}, {0.5f}};
  a.offset = {{1, 2, 2, 2}, {0.5f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f, 0.25f, 0.25f}};
  a.mask = HostArray{{1, 1, 2, 2}, {0.5f, 0.5f, 0.5f, 0.5f}};
  a.grad_y = HostArray{{1, 1, 2, 2}, {1, 1, 1, 1}};
  infer_problem(a, a.problem, "hand");
  return a;
}

class DeviceProblemCpu : public ::testing::TestWithParam<DType> {};

TEST_P(DeviceProblemCpu, HandComputedForwardAndBackward) {
  // Every value above is exact in f32, f16 and bf16, so all dtypes must reproduce it exactly.
  Engine engine(EngineOptions{});
  const ProblemResults r = run_problem(engine, hand_problem(GetParam()), /*backward=*/true);
  EXPECT_EQ(r.y.shape, (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(r.y.data, (std::vector<float>{2.75f, 2.75f, 2.125f, 2.0f}));
  ASSERT_TRUE(r.grad_x && r.grad_offset && r.grad_weight && r.grad_mask && r.grad_bias);
  EXPECT_EQ(r.grad_x->data, (std::vector<float>{0.375f, 0.5f, 0.75f, 1.0f}));
  EXPECT_EQ(r.grad_offset->data, (std::vector<float>{2.0f, 1.5f, -3.25f, -3.0f, 1.0f, -3.0f, 0.5f, -2.0f}));
  EXPECT_EQ(r.grad_weight->data, std::vector<float>{3.8125f});
  EXPECT_EQ(r.grad_mask->data, (std::vector<float>{4.5f, 4.5f, 3.25f, 3.0f}));
  EXPECT_EQ(r.grad_bias->data, std::vector<float>{4.0f});
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, DeviceProblemCpu, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// A finite value the dtype cannot hold would reach the backend as Inf: an error naming the tensor and
// element. NaN and Inf themselves pass (docs/semantics.md says what they do).
TEST(DeviceProblem, ValueBeyondTheDtypeRangeIsAnErrorNamingTheTensor) {
  Engine engine(EngineOptions{});
  ProblemArrays a = hand_problem(DType::f16);
  a.offset.data[5] = 70000.0f;
  try {
    run_problem(engine, a, /*backward=*/false);
    ADD_FAILURE() << "70000 accepted as f16";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("offset: element [0, 1, 0, 1] is 70000, beyond f16's range"),
              std::string::npos)
        << e.what();
  }
  ProblemArrays b = hand_problem(DType::bf16);
  b.grad_y->data[2] = 3.4e38f;
  EXPECT_THROW(run_problem(engine, b, /*backward=*/true), Error);
  ProblemArrays c = hand_problem(DType::f16);
  c.x.data[0] = std::numeric_limits<float>::infinity();
  c.mask->data[1] = std::numeric_limits<float>::quiet_NaN();
  c.offset.data[0] = 65504.0f;  // the largest f16
  EXPECT_NO_THROW(run_problem(engine, c, /*backward=*/true));
}

// The backend's memory running out names the tensor and the bytes (it said "std::bad_alloc").
TEST(DeviceProblem, AllocationFailureNamesTheTensorAndItsBytes) {
  int allocations = 0;
  const DeviceProblem::Allocator failing_fourth = [&](std::size_t bytes) -> DeviceBuffer {
    if (++allocations == 4) throw std::bad_alloc();
    Engine engine(EngineOptions{});
    return engine.allocate(bytes);
  };
  try {
    DeviceProblem(hand_problem(DType::f32), /*backward=*/false, failing_fourth);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    // x, offset, weight, then the mask (4 floats = 16 bytes).
    EXPECT_EQ(std::string(e.what()), "mask: cannot allocate 16 bytes of host memory (out of memory)");
  }
  const DeviceProblem::Allocator refusing = [](std::size_t) -> DeviceBuffer {
    throw Error(ErrorCode::LaunchError, "cuMemAlloc failed: out of memory");
  };
  try {
    DeviceProblem(hand_problem(DType::f32), /*backward=*/false, refusing);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_EQ(std::string(e.what()), "x: cuMemAlloc failed: out of memory");
  }
}

TEST(DeviceProblem, ForwardOnlyHasNoGradients) {
  Engine engine(EngineOptions{});
  const ProblemResults r = run_problem(engine, hand_problem(DType::f32), /*backward=*/false);
  EXPECT_EQ(r.y.data.size(), 4u);
  EXPECT_FALSE(r.grad_x || r.grad_offset || r.grad_weight || r.grad_mask || r.grad_bias);
}

TEST(DeviceProblem, BackwardWithoutGradYIsAnError) {
  Engine engine(EngineOptions{});
  ProblemArrays a = hand_problem(DType::f32);
  a.grad_y.reset();
  EXPECT_THROW(DeviceProblem(engine, a, /*backward=*/true), Error);
}

}  // namespace
}  // namespace dcnjit::io
