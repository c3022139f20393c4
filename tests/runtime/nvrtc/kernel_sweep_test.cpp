// Every kernel every registered algorithm launches, over its knob table's space for both directions,
// compiles through NVRTC for sm_80 and sm_90 with zero spill bytes. No GPU needed: ptxas reports
// resources in NVRTC's log. One test instance per kernel and architecture, named after the kernel
// (KernelSpec::name()) so a failure names the specialization; ctest runs them in shards
// (CMakeLists.txt). Spaces too large to compile whole in CI are sampled (add_swept_kernels below); the
// `long` label compiles all of them.
//
// Problems swept: the shared list (tests/support/problems.h), one problem per dtype and layout, plus two
// that reach what its tiny shapes cannot:
//   shared 0 f32 nchw, shared 1 f32 nhwc     every family, both boundaries, groups, strides, both layouts
//   shared 2 f16 nchw, shared 3 bf16 nhwc    cast, 16-bit loads
//   f16 3x3 s2 d2 cpg16 v1 nomask            64-bit indices (x has 1.1e9 elements)
//   f32 the DCNv2 ResNet-50 stage-3 layer    the shape the kernels are tuned for (cpg64)
// The remaining axes (kh, kw, stride, dilation, cpg) only change constants and loop bounds. Each
// algorithm is swept as a plain engine, a deterministic one (its gather kernels) and one that allows
// TF32 (the fused family's TF32 MMA), since the engine's options change the kernels it may launch.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "algorithms/registry.h"
#include "generator/generator.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tests/support/problems.h"

#ifndef DCNJIT_FULL_SWEEP
#define DCNJIT_FULL_SWEEP 0
#endif

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
  problems.push_back(Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask bias v2 f16"));
  problems.push_back(Problem::parse("N8 C256 H50 W76 Co256 k3x3 p1x1 mask bias v2 bf16 nhwc"));
  return problems;
}

// The kernels swept for one algorithm, problem and direction. When the space launches at most
// kWholeSpaceUpTo distinct kernels (the im2col algorithm: its GEMM knobs multiply configs, not kernels),
// all of them; a larger one (the fused algorithm's tile space: thousands of kernels at ~1.5 s of NVRTC
// each) is sampled in CI: the kernels of the defaults, of the "heaviest" and "lightest" configs (every
// knob at its largest, resp. smallest, candidate the checks allow: the register and shared-memory edges
// where spills appear) and of one config halfway through the space. The
// test_runtime_nvrtc_full_sweep executable (label `long`, DCNJIT_FULL_SWEEP) compiles every kernel of
// every space.
constexpr std::size_t kWholeSpaceUpTo = 64;

void add_swept_kernels(const algo::Algorithm& algorithm, const Problem& problem, Direction direction,
                       std::map<std::string, gen::KernelSpec>& out) {
  const KnobTable& table = algorithm.knobs();
  const std::vector<Config> all = table.enumerate(problem, direction);
  auto kernels_of = [&](const Config& config) {
    return algorithm.kernels(problem, config, direction, algo::all_gradients(problem));
  };
  // Every process of the sweep enumerates this at start: stop listing as soon as the space is known to be
  // sampled.
  std::map<std::string, gen::KernelSpec> every;
  for (const Config& config : all) {
    for (const gen::KernelSpec& spec : kernels_of(config)) every.emplace(spec.name(), spec);
    if (!DCNJIT_FULL_SWEEP && every.size() > kWholeSpaceUpTo) break;
  }
  if (DCNJIT_FULL_SWEEP || every.size() <= kWholeSpaceUpTo) {
    out.insert(every.begin(), every.end());
    return;
  }
  // Sum over the knobs of the value's position among the knob's candidates.
  auto weight = [&](const Config& config) {
    int64_t total = 0;
    for (const KnobDef& knob : table.knobs()) {
      const std::vector<int64_t> values =
          knob.words.empty() ? knob.candidates(problem) : std::vector<int64_t>{0, int64_t(knob.words.size()) - 1};
      total += std::find(values.begin(), values.end(), table.value(config, knob.name)) - values.begin();
    }
    return total;
  };
  auto lighter = [&](const Config& a, const Config& b) { return weight(a) < weight(b); };
  for (const Config& config : {all.front(), *std::max_element(all.begin(), all.end(), lighter),
                               *std::min_element(all.begin(), all.end(), lighter), all[all.size() / 2]})
    for (const gen::KernelSpec& spec : kernels_of(config)) out.emplace(spec.name(), spec);
}

// Every distinct kernel (by name, sorted) the algorithms launch over their spaces for these problems.
const std::vector<gen::KernelSpec>& swept_kernels() {
  static const std::vector<gen::KernelSpec> specs = [] {
    std::map<std::string, gen::KernelSpec> unique;
    algo::RunOptions deterministic, tf32;
    deterministic.deterministic = true;
    tf32.allow_tf32 = true;
    for (const algo::RunOptions& options : {algo::RunOptions{}, deterministic, tf32})
      for (const auto& algorithm : algo::make_algorithms(cuda_target(), options))
        for (const Problem& problem : swept_problems()) {
          if (!algorithm->cannot_implement(problem).empty()) continue;
          // TF32 changes only f32 kernels; the f16/bf16 ones are the plain engine's.
          if (options.allow_tf32 && problem.dtype != DType::f32) continue;
          for (Direction direction : {Direction::forward, Direction::backward})
            add_swept_kernels(*algorithm, problem, direction, unique);
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
  bool index64 = false, warp = false, nhwc = false, tf32 = false;
  for (const gen::KernelSpec& spec : swept_kernels()) {
    ++families[spec.family];
    const std::string name = spec.name();
    index64 |= name.find("_i64_") != std::string::npos;
    warp |= name.find("_awarp") != std::string::npos;
    nhwc |= name.find("_nhwc_") != std::string::npos;
    tf32 |= name.find("_tf32") != std::string::npos;
  }
  for (const char* family : {"im2col", "col2im", "coord", "col2im_coord", "bias_grad", "cast", "fused_fwd",
                             "fused_wgrad", "fused_dgrad", "fused_creduce", "fused_map_count", "fused_map_fill",
                             "fused_gather"})
    EXPECT_GT(families[family], 0) << family;
  EXPECT_TRUE(index64);
  EXPECT_TRUE(warp);
  EXPECT_TRUE(nhwc);
  EXPECT_TRUE(tf32);
}

}  // namespace
}  // namespace dcnjit::nvrtc
