// The generator's output: names that spell the specialization, deterministic text, the kernels of
// each pass, and the index width chosen from the problem's tensor sizes.
#include "generator/generator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "generator/config_space.h"
#include "generator/template_library.h"
#include "generator/version.h"

namespace dcnjit::gen {
namespace {

Problem resnet_layer() {
  // The DCNv2 ResNet-50 stage-3 layer: 256 channels, 50x76, 3x3, mask.
  return Problem::parse("N2 C256 H50 W76 Co256 k3x3 s1x1 p1x1 d1x1 g1 og4 mask bias v2 f32");
}

std::vector<std::string> names_of(const std::vector<KernelSource>& kernels) {
  std::vector<std::string> names;
  for (const KernelSource& k : kernels) names.push_back(k.name);
  return names;
}

TEST(GeneratorNames, SpellTheSpecializationOfEachFamily) {
  Config config = default_kernel_config(resnet_layer());
  config.atomic = AtomicStrategy::warp;
  config.elems_per_thread = 2;
  const Problem p = resnet_layer();
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::im2col).name(),
            "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_i32_t256_e2");
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::col2im_coord).name(),
            "dcn_col2im_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_i32_t256_e2_awarp");
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::coord).name(),
            "dcn_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_i32_t256_e2");
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::bias_grad).name(), "dcn_bias_grad_f32_i32_t256");
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::cast).name(), "dcn_cast_f32_i32_t256_e2");
}

TEST(GeneratorNames, AsymmetricStrideDilationV1Bf16) {
  const Problem p = Problem::parse("N1 C32 H20 W24 Co8 k3x5 s2x1 p1x2 d1x2 og2 nomask v1 bf16");
  const Config config = default_kernel_config(p);
  EXPECT_EQ(KernelSpec::of(p, config, KernelKind::im2col).name(),
            "dcn_im2col_k3x5_s2x1_d1x2_cpg16_v1_nomask_bf16_i32_t256_e1");
}

TEST(GeneratorIndexWidth, ThirtyTwoBitBelowTwoToTheThirtyElements) {
  // x has 2 * 256 * 50 * 76 < 2^30 elements; the column buffer of 2 images 2 * 2304 * 3800 too.
  EXPECT_FALSE(needs_64bit_index(resnet_layer(), 2));
}

TEST(GeneratorIndexWidth, SixtyFourBitForATensorPastTwoToTheThirty) {
  // x: 1 * 64 * 4200 * 4200 = 1.13e9 elements > 2^30 = 1.07e9.
  const Problem big = Problem::parse("N1 C64 H4200 W4200 Co64 k3x3 p1x1 nomask v2 f16");
  EXPECT_TRUE(needs_64bit_index(big, 1));
  EXPECT_EQ(KernelSpec::of(big, default_kernel_config(big), KernelKind::im2col).index64, true);
  // The column buffer of a chunk alone can force it: 128 images of 256 ch 50x76 keep x below 2^30
  // (1.2e8), but the columns of 128 images at once are 128 * 2304 * 3800 = 1.12e9 >= 2^30.
  Problem layer = resnet_layer();
  layer.N = 128;
  EXPECT_FALSE(needs_64bit_index(layer, 1));
  EXPECT_TRUE(needs_64bit_index(layer, 128));
}

TEST(GeneratorPasses, ForwardIsIm2colOnly) {
  const auto kernels = generate(resnet_layer(), Pass::forward, default_kernel_config(resnet_layer()));
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].kind, KernelKind::im2col);
  EXPECT_EQ(kernels[0].param_type, "dcn::Params");
  EXPECT_EQ(kernels[0].block_threads, 256);
}

TEST(GeneratorPasses, SplitBackwardF16HasAccumulatorKernels) {
  Problem p = resnet_layer();
  p.dtype = DType::f16;
  Config config = default_kernel_config(p);
  config.fused_backward = false;
  const std::vector<std::string> expected = {
      "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f16_i32_t256_e1",
      "dcn_col2im_k3x3_s1x1_d1x1_cpg64_v2_mask_f16_i32_t256_e1_aplain",
      "dcn_coord_k3x3_s1x1_d1x1_cpg64_v2_mask_f16_i32_t256_e1",
      "dcn_bias_grad_f16_i32_t256",
      "dcn_reduce_f16_i32_t256_e1",
      "dcn_cast_f16_i32_t256_e1",
  };
  EXPECT_EQ(names_of(generate(p, Pass::backward, config)), expected);
}

TEST(GeneratorSource, IsDeterministic) {
  const Problem p = resnet_layer();
  Config config = default_kernel_config(p);
  config.fused_backward = false;
  const auto first = generate(p, Pass::backward, config);
  const auto second = generate(p, Pass::backward, config);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].source, second[i].source) << first[i].name;
}

TEST(GeneratorSource, EntryPointIsNamedAfterTheKernelAndIncludesItsTemplate) {
  const KernelSource k = generate_kernel(KernelSpec::of(resnet_layer(), Config{}, KernelKind::col2im_coord));
  EXPECT_NE(k.source.find("extern \"C\" __global__ void __launch_bounds__(256, 2) " + k.name + "(const dcn::Params params)"),
            std::string::npos)
      << k.source;
  EXPECT_NE(k.source.find("#include \"templates/deform_col2im_coord.cuh\""), std::string::npos);
  EXPECT_NE(k.source.find("dcn::deform_col2im_coord<Spec>(params);"), std::string::npos);
  EXPECT_NE(k.source.find("generator version " + std::to_string(GENERATOR_VERSION)), std::string::npos);
}

TEST(TemplateLibrary, EmbedsEveryTemplateAsOnDisk) {
  const auto& files = template_library();
  const char* expected[] = {"templates/bias_grad.cuh", "templates/cast.cuh", "templates/deform_col2im_coord.cuh",
                            "templates/deform_im2col.cuh", "templates/dtype.cuh", "templates/params.cuh",
                            "templates/portability.cuh", "templates/sampling.cuh", "templates/scatter_add.cuh",
                            "templates/tap_geometry.cuh"};
  for (const char* path : expected) {
    auto it = std::find_if(files.begin(), files.end(), [&](const TemplateFile& f) { return f.path == path; });
    ASSERT_NE(it, files.end()) << path << " is not embedded";
    std::ifstream in(std::string(DCNJIT_SOURCE_DIR) + "/" + path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(it->contents, text.str()) << path << " differs from the source tree: rebuild";
  }
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                             [](const TemplateFile& a, const TemplateFile& b) { return a.path < b.path; }));
}

}  // namespace
}  // namespace dcnjit::gen
