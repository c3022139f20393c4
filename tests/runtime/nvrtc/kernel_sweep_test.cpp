// Every kernel every registered algorithm launches, over its knob table's space for both directions,
// compiles through NVRTC for sm_80 and sm_90 with zero spill bytes. No GPU needed: ptxas reports
// resources in NVRTC's log. One test instance per kernel and architecture, named after the kernel
// (KernelSpec::name()) so a failure names the specialization.
//
// Problems swept: the shared list (tests/support/problems.h), one problem per dtype and layout, plus two
// that reach what its tiny shapes cannot:
//   shared 0 f32 nchw, shared 1 f32 nhwc     every family, both boundaries, groups, strides, both layouts
//   shared 2 f16 nchw, shared 3 bf16 nhwc    cast, 16-bit loads
//   f16 3x3 s2 d2 cpg16 v1 nomask            64-bit indices (x has 1.1e9 elements)
//   f32 the DCNv2 ResNet-50 stage-3 layer    the shape the kernels are tuned for (cpg64)
// The remaining axes (kh, kw, stride, dilation, cpg) only change constants and loop bounds.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>

#include "algorithms/registry.h"
#include "generator/generator.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tests/support/problems.h"

namespace dcnjit::nvrtc {
namespace {

detail::DeviceTraits cuda_target() {
  detail::DeviceTraits traits;
  traits.backend = Backend::cuda;
  traits.gemm_algorithms = 8;
  return traits;
}

std::vector<Problem> swept_problems() {
  const auto& shared = test::test_problems();
  std::vector<Problem> problems = {test::problem_of(shared[0], DType::f32, Layout::nchw),
                                   test::problem_of(shared[1], DType::f32, Layout::nhwc),
                                   test::problem_of(shared[2], DType::f16, Layout::nchw),
                                   test::problem_of(shared[3], DType::bf16, Layout::nhwc)};
  problems.push_back(Problem::parse("N1 C64 H4200 W4200 Co64 k3x3 s2x2 p2x2 d2x2 og4 nomask v1 f16"));
  problems.push_back(Problem::parse("N2 C256 H50 W76 Co256 k3x3 p1x1 og4 mask bias v2 f32"));
  return problems;
}

// Every distinct kernel (by name, sorted) the algorithms launch over their spaces for these problems.
const std::vector<gen::KernelSpec>& swept_kernels() {
  static const std::vector<gen::KernelSpec> specs = [] {
    std::map<std::string, gen::KernelSpec> unique;
    for (const auto& algorithm : algo::make_algorithms(cuda_target()))
      for (const Problem& problem : swept_problems()) {
        if (!algorithm->cannot_implement(problem).empty()) continue;
        for (Direction direction : {Direction::forward, Direction::backward})
          for (const Config& config : algorithm->knobs().enumerate(problem, direction))
            for (const gen::KernelSpec& spec :
                 algorithm->kernels(problem, config, direction, algo::all_gradients(problem)))
              unique.emplace(spec.name(), spec);
      }
    std::vector<gen::KernelSpec> out;
    for (auto& [name, spec] : unique) out.push_back(spec);
    return out;
  }();
  return specs;
}

struct Job {
  const gen::KernelSpec* spec;
  int arch;
};

std::vector<Job> jobs() {
  std::vector<Job> out;
  for (const gen::KernelSpec& spec : swept_kernels())
    for (int arch : {80, 90}) out.push_back({&spec, arch});
  return out;
}

class KernelSweep : public ::testing::TestWithParam<Job> {};

TEST_P(KernelSweep, CompilesWithoutSpills) {
  const Job& job = GetParam();
  const CompiledKernel k = compile(gen::generate_kernel(*job.spec), job.arch);
  ASSERT_EQ(k.format, detail::BinaryFormat::cubin);
  ASSERT_TRUE(k.resources.known) << "no ptxas resource report";
  EXPECT_EQ(k.resources.spill_stores, 0) << k.resources.registers << " registers";
  EXPECT_EQ(k.resources.spill_loads, 0) << k.resources.registers << " registers";
  RecordProperty("registers", k.resources.registers);
}

INSTANTIATE_TEST_SUITE_P(Sm80AndSm90, KernelSweep, ::testing::ValuesIn(jobs()),
                         [](const ::testing::TestParamInfo<Job>& info) {
                           return fmt::format("{}_sm{}", info.param.spec->name(), info.param.arch);
                         });

// The sweep reaches every family, both index widths and both atomic strategies (else a kernel the
// algorithm can launch would go unchecked).
TEST(KernelSweepCoverage, ReachesEveryFamilyIndexWidthAndAtomicStrategy) {
  std::map<std::string, int> families;
  bool index64 = false, warp = false, nhwc = false;
  for (const gen::KernelSpec& spec : swept_kernels()) {
    ++families[spec.family];
    const std::string name = spec.name();
    index64 |= name.find("_i64_") != std::string::npos;
    warp |= name.find("_awarp") != std::string::npos;
    nhwc |= name.find("_nhwc_") != std::string::npos;
  }
  for (const char* family : {"im2col", "col2im", "coord", "col2im_coord", "bias_grad", "cast"})
    EXPECT_GT(families[family], 0) << family;
  EXPECT_TRUE(index64);
  EXPECT_TRUE(warp);
  EXPECT_TRUE(nhwc);
}

}  // namespace
}  // namespace dcnjit::nvrtc
