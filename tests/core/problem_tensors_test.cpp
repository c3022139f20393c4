// The tensors of a problem per layout: logical shapes never change, nhwc makes the activations
// channels-last (PyTorch's channels_last strides), weight and bias stay contiguous.
#include "core/problem_tensors.h"

#include <gtest/gtest.h>

namespace dcnjit {
namespace {

const Problem kNchw = Problem::parse("N2 C6 H5 W7 Co4 k3x3 p1x1 og2 mask bias");

Problem nhwc(Problem p) {
  p.layout = Layout::nhwc;
  return p;
}

TEST(ProblemTensors, NchwIsContiguous) {
  const TensorShape x = tensor_shape(kNchw, TensorRole::x);
  EXPECT_EQ(x.shape_vector(), (std::vector<int64_t>{2, 6, 5, 7}));
  EXPECT_EQ(x.strides, (std::array<int64_t, 4>{210, 35, 7, 1}));
  EXPECT_EQ(x.memory_shape(), x.shape_vector());
  EXPECT_EQ(x.elements, 420);
}

TEST(ProblemTensors, NhwcActivationsAreChannelsLastWithTheSameLogicalShape) {
  const Problem p = nhwc(kNchw);
  const TensorShape x = tensor_shape(p, TensorRole::x);
  EXPECT_EQ(x.shape_vector(), (std::vector<int64_t>{2, 6, 5, 7}));
  EXPECT_EQ(x.strides, (std::array<int64_t, 4>{210, 1, 42, 6}));
  EXPECT_EQ(x.memory_shape(), (std::vector<int64_t>{2, 5, 7, 6}));
  const TensorShape offset = tensor_shape(p, TensorRole::offset);  // [2, 2*2*9, 5, 7]
  EXPECT_EQ(offset.strides, (std::array<int64_t, 4>{36 * 35, 1, 7 * 36, 36}));
  EXPECT_EQ(tensor_shape(p, TensorRole::mask).memory_shape(), (std::vector<int64_t>{2, 5, 7, 18}));
  EXPECT_EQ(tensor_shape(p, TensorRole::y).memory_shape(), (std::vector<int64_t>{2, 5, 7, 4}));
  // A TensorRef built from it is what PyTorch calls channels_last.
  EXPECT_TRUE(tensor_ref(p, TensorRole::x, nullptr, Device::cpu).is_channels_last());
  EXPECT_FALSE(tensor_ref(p, TensorRole::x, nullptr, Device::cpu).is_contiguous());
}

TEST(ProblemTensors, WeightAndBiasAreContiguousInBothLayouts) {
  for (const Problem& p : {kNchw, nhwc(kNchw)}) {
    EXPECT_EQ(tensor_shape(p, TensorRole::weight).strides, (std::array<int64_t, 4>{54, 9, 3, 1}));
    EXPECT_EQ(tensor_shape(p, TensorRole::bias).shape_vector(), std::vector<int64_t>{4});
    EXPECT_FALSE(tensor_shape(p, TensorRole::weight).activation);
  }
}

TEST(ProblemTensors, KernelStridesWalkImageChannelAndPixel) {
  const ActivationStrides a = input_strides(kNchw), b = input_strides(nhwc(kNchw));
  EXPECT_EQ(a.image, 210);
  EXPECT_EQ(a.channel, 35);
  EXPECT_EQ(a.pixel, 1);
  EXPECT_EQ(b.image, 210);
  EXPECT_EQ(b.channel, 1);
  EXPECT_EQ(b.pixel, 6);
}

TEST(ProblemTensors, LogicalShapeOfAChannelsLastFile) {
  EXPECT_EQ(logical_shape({2, 5, 7, 6}, Layout::nhwc), (std::vector<int64_t>{2, 6, 5, 7}));
  EXPECT_EQ(logical_shape({2, 6, 5, 7}, Layout::nchw), (std::vector<int64_t>{2, 6, 5, 7}));
}

}  // namespace
}  // namespace dcnjit
