// The im2col algorithm's kernels: names that spell the specialization, the kernels of each pass and
// gradient subset, and the index width chosen from the problem's tensor sizes.
#include "algorithms/im2col/im2col_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "algorithms/im2col/im2col_algorithm.h"

namespace dcnjit::algo::im2col {
namespace {

Problem resnet_layer() {
  // The DCNv2 ResNet-50 stage-3 layer: 256 channels, 50x76, 3x3, mask.
  return Problem::parse("N2 C256 H50 W76 Co256 k3x3 s1x1 p1x1 d1x1 g1 og4 mask bias v2 f32");
}

Im2colKnobs knobs(int items = 1, bool warp = false, int split = 1) {
  Im2colKnobs k;
  k.step = 2;
  k.items = items;
  k.split = split;
  k.warp_atomics = warp;
  return k;
}

std::vector<std::string> names_of(const std::vector<gen::KernelSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name());
  return names;
}

TEST(Im2colKernelNames, SpellTheSpecializationOfEachFamily) {
  const Problem p = resnet_layer();
  EXPECT_EQ(sampling_kernel(p, knobs(2, true), SamplingKind::im2col).name(),
            "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it2_sp1");
  EXPECT_EQ(sampling_kernel(p, knobs(2, true), SamplingKind::col2im_coord).name(),
            "dcn_col2im_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it2_sp1_awarp");
  EXPECT_EQ(sampling_kernel(p, knobs(2, true), SamplingKind::coord).name(),
            "dcn_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it2_sp1");
}

TEST(Im2colKernelNames, TheSplitIsATokenOfEverySamplingKernel) {
  const Problem p = resnet_layer();
  EXPECT_EQ(sampling_kernel(p, knobs(1, false, 8), SamplingKind::im2col).name(),
            "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it1_sp8");
  EXPECT_EQ(sampling_kernel(p, knobs(2, true, 32), SamplingKind::col2im).name(),
            "dcn_col2im_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it2_sp32_awarp");
  const gen::KernelSpec coord = sampling_kernel(p, knobs(1, false, 4), SamplingKind::coord);
  EXPECT_EQ(coord.name(), "dcn_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_nchw_i32_t256_it1_sp4");
  EXPECT_NE(std::find(coord.details.begin(), coord.details.end(),
                      "launch    256 threads per block, 1 item(s) per thread, 4 lane(s) per item, grid-stride"),
            coord.details.end());
}

TEST(Im2colKernelNames, AsymmetricStrideDilationV1Bf16Nhwc) {
  const Problem p = Problem::parse("N1 C32 H20 W24 Co8 k3x5 s2x1 p1x2 d1x2 og2 nomask v1 bf16 nhwc");
  EXPECT_EQ(sampling_kernel(p, knobs(), SamplingKind::im2col).name(),
            "dcn_im2col_k3x5_s2x1_d1x2_cpg16_v1_nomask_bf16_nhwc_i32_t256_it1_sp1");
}

TEST(Im2colIndexWidth, ThirtyTwoBitBelowTwoToTheThirtyElements) {
  // x has 2 * 256 * 50 * 76 < 2^30 elements; the column buffer of 2 images 2 * 2304 * 3800 too.
  EXPECT_FALSE(needs_64bit_index(resnet_layer(), 2));
}

TEST(Im2colIndexWidth, SixtyFourBitForATensorPastTwoToTheThirty) {
  // x: 1 * 64 * 4200 * 4200 = 1.13e9 elements > 2^30 = 1.07e9.
  const Problem big = Problem::parse("N1 C64 H4200 W4200 Co64 k3x3 p1x1 nomask v2 f16");
  EXPECT_TRUE(needs_64bit_index(big, 1));
  EXPECT_NE(sampling_kernel(big, knobs(), SamplingKind::im2col).name().find("_i64_"), std::string::npos);
  // The column buffer of a chunk alone can force it: 128 images of 256 ch 50x76 keep x below 2^30
  // (1.2e8), but the columns of 128 images at once are 128 * 2304 * 3800 = 1.12e9 >= 2^30.
  Problem layer = resnet_layer();
  layer.N = 128;
  EXPECT_FALSE(needs_64bit_index(layer, 1));
  EXPECT_TRUE(needs_64bit_index(layer, 128));
}

TEST(Im2colPasses, ForwardIsIm2colOnly) {
  const auto algorithm = make_im2col_algorithm(detail::DeviceTraits{});
  const Problem p = resnet_layer();
  const auto specs = algorithm->kernels(p, algorithm->knobs().defaults(p), Direction::forward, {});
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].family, "im2col");
  EXPECT_EQ(specs[0].params_type, "dcn::SamplingParams");
  EXPECT_EQ(specs[0].block_threads, 256);
}

TEST(Im2colPasses, SplitBackwardF16HasAccumulatorKernels) {
  Problem p = resnet_layer();
  p.dtype = DType::f16;
  Im2colKnobs k = knobs();
  k.fused_backward = false;
  const Gradients all{true, true, true, true, true};
  const BackwardKernels b = backward_kernels(p, k, all);
  EXPECT_EQ(names_of(b.sampling), (std::vector<std::string>{
                                      "dcn_col2im_k3x3_s1x1_d1x1_cpg64_v2_mask_f16_nchw_i32_t256_it1_sp1_aplain",
                                      "dcn_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f16_nchw_i32_t256_it1_sp1"}));
  ASSERT_TRUE(b.cast_x && b.im2col && b.cast_w && b.bias_grad);
  EXPECT_EQ(b.bias_grad->name(), "dcn_bias_grad_f16_nchw_i32_t256");
  EXPECT_EQ(b.cast_w->name(), "dcn_cast_f16_i32_t256_it1");
}

TEST(Im2colPasses, FusedOnlyWhenGradXAndACoordinateGradientAreWanted) {
  const Problem p = resnet_layer();
  EXPECT_EQ(backward_kernels(p, knobs(), {true, true, false, false, false}).sampling[0].family, "col2im_coord");
  EXPECT_EQ(backward_kernels(p, knobs(), {true, false, false, false, false}).sampling[0].family, "col2im");
  EXPECT_EQ(backward_kernels(p, knobs(), {false, false, true, false, false}).sampling[0].family, "coord");
  const BackwardKernels weight_only = backward_kernels(p, knobs(), {false, false, false, true, false});
  EXPECT_TRUE(weight_only.sampling.empty());
  EXPECT_TRUE(weight_only.im2col);
  EXPECT_FALSE(weight_only.cast_w) << "f32 accumulates straight into grad_weight";
}

}  // namespace
}  // namespace dcnjit::algo::im2col
