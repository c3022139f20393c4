// Target selection (cubin where NVRTC supports the arch, PTX otherwise), option canonicalization,
// and one real kernel compiled for both formats.
#include "runtime/nvrtc/nvrtc_compiler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dcnjit/error.h"
#include "algorithms/im2col/im2col_kernels.h"
#include "generator/generator.h"

namespace dcnjit::nvrtc {
namespace {

TEST(NvrtcTarget, CubinForASupportedArch) {
  const Target t = target_for(90);
  EXPECT_EQ(t.format, detail::BinaryFormat::cubin);
  EXPECT_EQ(t.name, "sm_90");
}

TEST(NvrtcTarget, PtxOfTheNewestSupportedArchBelowAnUnlistedOne) {
  const std::vector<int> archs = supported_archs();
  ASSERT_FALSE(archs.empty());
  // A made-up future arch beyond NVRTC's list gets PTX of NVRTC's newest arch.
  const Target future = target_for(archs.back() + 50);
  EXPECT_EQ(future.format, detail::BinaryFormat::ptx);
  EXPECT_EQ(future.name, "compute_" + std::to_string(archs.back()));
  // An arch in a gap of the list (e.g. 91 between 90 and 100 in NVRTC 13.0) gets the one below it.
  for (int arch = archs.front() + 1; arch < archs.back(); ++arch) {
    if (std::find(archs.begin(), archs.end(), arch) != archs.end()) continue;
    const Target gap = target_for(arch);
    EXPECT_EQ(gap.format, detail::BinaryFormat::ptx);
    EXPECT_LT(gap.arch, arch);
    EXPECT_NE(std::find(archs.begin(), archs.end(), gap.arch), archs.end());
    break;
  }
}

TEST(NvrtcTarget, OlderThanNvrtcIsUnsupported) {
  try {
    target_for(supported_archs().front() - 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    EXPECT_NE(std::string(e.what()).find("older than the oldest"), std::string::npos) << e.what();
  }
}

TEST(NvrtcTarget, ParsesArchSpellings) {
  EXPECT_EQ(parse_arch("sm_90"), 90);
  EXPECT_EQ(parse_arch("compute_80"), 80);
  EXPECT_EQ(parse_arch("86"), 86);
  EXPECT_THROW(parse_arch("sm_9x"), Error);
  EXPECT_THROW(parse_arch("gfx90a"), Error);
}

TEST(NvrtcOptions, AreSortedAndNameTheTarget) {
  const std::vector<std::string> options = compile_options(target_for(80));
  EXPECT_TRUE(std::is_sorted(options.begin(), options.end()));
  EXPECT_NE(std::find(options.begin(), options.end(), "-arch=sm_80"), options.end());
  EXPECT_NE(std::find(options.begin(), options.end(), "--ptxas-options=-v"), options.end());
}

TEST(NvrtcCompile, Im2colF32ToCubinAndToPtx) {
  const Problem p = Problem::parse("N1 C16 H8 W8 Co8 k3x3 p1x1 mask v2 f32");
  const gen::KernelSource kernel =
      gen::generate_kernel(algo::im2col::sampling_kernel(p, {}, algo::im2col::SamplingKind::im2col));
  const CompiledKernel cubin = compile(kernel, 90);
  EXPECT_EQ(cubin.format, detail::BinaryFormat::cubin);
  EXPECT_EQ(cubin.entry, kernel.name);  // extern "C": the lowered name is the name
  EXPECT_EQ(cubin.binary.substr(0, 4), "\x7f" "ELF");
  EXPECT_TRUE(cubin.resources.known);
  EXPECT_GT(cubin.resources.registers, 0);

  const CompiledKernel ptx = compile(kernel, supported_archs().back() + 50);
  EXPECT_EQ(ptx.format, detail::BinaryFormat::ptx);
  EXPECT_NE(ptx.binary.find(".entry " + kernel.name), std::string::npos);
  EXPECT_FALSE(ptx.resources.known);
}

}  // namespace
}  // namespace dcnjit::nvrtc
