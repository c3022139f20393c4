// Every message of the tensor checks that run before any backend (core/validate_args.cpp).
#include "core/validate_args.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace dcnjit::detail {
namespace {

class ValidateArgs : public ::testing::Test {
 protected:
  ValidateArgs() : buffer_(1 << 16) {
    p_ = Problem::parse("N2 C4 H6 W5 Co6 k3x3 p1 og2 mask bias");
  }

  TensorRef t(std::initializer_list<int64_t> shape, DType dtype = DType::f32, Device device = Device::cpu) {
    return TensorRef::contiguous(buffer_.data(), dtype, device, shape);
  }

  ForwardArgs good_forward() {
    return {.x = t({2, 4, 6, 5}),
            .offset = t({2, 36, 6, 5}),
            .mask = t({2, 18, 6, 5}),
            .weight = t({6, 4, 3, 3}),
            .bias = t({6}),
            .y = t({2, 6, 6, 5})};
  }

  BackwardArgs good_backward() {
    ForwardArgs f = good_forward();
    return {.x = f.x, .offset = f.offset, .mask = f.mask, .weight = f.weight, .grad_y = f.y,
            .grad_x = f.x, .grad_offset = f.offset, .grad_mask = f.mask, .grad_weight = f.weight, .grad_bias = f.bias};
  }

  static std::string message_of(const std::function<void()>& call) {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      return e.what();
    }
    return "(no error)";
  }

  std::string forward_error(const std::function<void(ForwardArgs&)>& mutate, Backend backend = Backend::cpu) {
    ForwardArgs a = good_forward();
    mutate(a);
    return message_of([&] { validate_forward_args(p_, backend, a); });
  }

  std::string backward_error(const std::function<void(BackwardArgs&)>& mutate) {
    BackwardArgs a = good_backward();
    mutate(a);
    return message_of([&] { validate_backward_args(p_, Backend::cpu, a); });
  }

  Problem p_;
  std::vector<float> buffer_;
};

#define EXPECT_MESSAGE(actual, expected) EXPECT_NE((actual).find(expected), std::string::npos) << (actual)

TEST_F(ValidateArgs, ConsistentArgumentsPass) {
  EXPECT_EQ(forward_error([](ForwardArgs&) {}), "(no error)");
  EXPECT_EQ(backward_error([](BackwardArgs&) {}), "(no error)");
}

TEST_F(ValidateArgs, RequiredTensorsAreNamed) {
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.x.data = nullptr; }), "x: tensor is required");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.offset.data = nullptr; }), "offset: tensor is required");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.weight.data = nullptr; }), "weight: tensor is required");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.y.data = nullptr; }), "y: output tensor is required");
  EXPECT_MESSAGE(backward_error([](BackwardArgs& a) { a.grad_y.data = nullptr; }),
                 "grad_y: tensor is required for backward");
}

TEST_F(ValidateArgs, ShapeMismatchNamesTensorExpectedAndActualShapes) {
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.offset = t({2, 18, 6, 5}); }),
                 "offset: expected shape [2, 36, 6, 5] for problem 'N2 C4 H6 W5 Co6 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias "
                 "v2 f32', got [2, 18, 6, 5]");
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.weight = t({6, 4, 3}); }), "weight: expected shape [6, 4, 3, 3]");
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.bias = t({5}); }), "bias: expected shape [6]");
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.y = t({2, 6, 5, 6}); }), "y: expected shape [2, 6, 6, 5]");
  EXPECT_MESSAGE(backward_error([&](BackwardArgs& a) { a.grad_x = t({2, 4, 6, 6}); }),
                 "grad_x: expected shape [2, 4, 6, 5]");
  EXPECT_MESSAGE(backward_error([&](BackwardArgs& a) { a.grad_offset = t({2, 36, 6, 4}); }),
                 "grad_offset: expected shape [2, 36, 6, 5]");
  EXPECT_MESSAGE(backward_error([&](BackwardArgs& a) { a.grad_mask = t({2, 9, 6, 5}); }),
                 "grad_mask: expected shape [2, 18, 6, 5]");
  EXPECT_MESSAGE(backward_error([&](BackwardArgs& a) { a.grad_weight = t({6, 2, 3, 3}); }),
                 "grad_weight: expected shape [6, 4, 3, 3]");
  EXPECT_MESSAGE(backward_error([&](BackwardArgs& a) { a.grad_bias = t({6, 1}); }), "grad_bias: expected shape [6]");
}

TEST_F(ValidateArgs, MaskAndBiasPresenceMustMatchTheProblem) {
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.mask.data = nullptr; }),
                 "mask: the problem has a mask but no mask tensor was given");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.bias.data = nullptr; }),
                 "bias: the problem has a bias but no bias tensor was given");
  p_.mask = false;
  p_.bias = false;
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.bias.data = nullptr; }),
                 "mask: a mask tensor was given but the problem has mask=false");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.mask.data = nullptr; }),
                 "bias: a bias tensor was given but the problem has bias=false");
  EXPECT_MESSAGE(backward_error([](BackwardArgs& a) { a.mask.data = nullptr; }),
                 "grad_mask: requested but the problem has mask=false");
}

TEST_F(ValidateArgs, DtypeDeviceAndLayoutAreChecked) {
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.x = t({2, 4, 6, 5}, DType::f16); }),
                 "x: dtype f16 does not match the problem's dtype f32");
  EXPECT_MESSAGE(forward_error([&](ForwardArgs& a) { a.y = t({2, 6, 6, 5}, DType::f32, Device::cuda); }),
                 "y: tensor is on cuda but the cpu backend needs cpu memory");
  EXPECT_MESSAGE(forward_error([](ForwardArgs&) {}, Backend::cuda),
                 "x: tensor is on cpu but the cuda backend needs cuda memory");
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { std::swap(a.x.strides[2], a.x.strides[3]); }),
                 "x: only dense tensors are supported (nchw layout; shape [2, 4, 6, 5], strides [120, 30, 1, 5])");
}

TEST_F(ValidateArgs, ChannelsLastTensorsNeedAnNhwcProblemAndTheReverse) {
  // x [2, 4, 6, 5] in channels-last strides given to an nchw problem.
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) { a.x.strides = {120, 1, 20, 4}; }),
                 "x: channels-last strides [120, 1, 20, 4] but the problem's layout is nchw");
  p_.layout = Layout::nhwc;
  EXPECT_MESSAGE(forward_error([](ForwardArgs&) {}),
                 "x: the problem's layout is nhwc, which needs channels-last strides (dense [N, H, W, C] memory); "
                 "got shape [2, 4, 6, 5] with strides [120, 30, 5, 1]");
  // Every activation tensor follows the layout; weight and bias stay contiguous.
  EXPECT_MESSAGE(forward_error([](ForwardArgs& a) {
                   for (TensorRef* t : {&a.x, &a.offset, &a.mask, &a.y}) {
                     const int64_t C = t->shape[1], H = t->shape[2], W = t->shape[3];
                     t->strides = {H * W * C, 1, W * C, C};
                   }
                   a.weight.strides = {36, 1, 12, 4};
                 }),
                 "weight: only dense tensors are supported (nchw layout; shape [6, 4, 3, 3], strides [36, 1, 12, 4])");
}

}  // namespace
}  // namespace dcnjit::detail
