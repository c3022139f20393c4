// Every kernel family over its whole config space compiles through NVRTC for sm_80 and sm_90 with
// zero spill bytes (design.md section 4). No GPU needed: ptxas reports resources in NVRTC's log.
//
// Specializations swept (each over enumerate_configs() of both passes; that is all block_threads x
// elems_per_thread x atomic values the kernels accept, see generator/config_space.h):
//   f32  3x3 cpg64 v2 mask   32-bit indices   the DCNv2 ResNet-50 stage-3 layer
//   f16  3x3 s2 d2 cpg16 v1 nomask  64-bit indices (x has 1.1e9 elements)
//   bf16 5x5 cpg32 v2 mask   32-bit indices
// Together they cover every dtype, both boundaries, mask/no mask, both index widths and both
// atomic strategies in every family; the remaining axes (kh, kw, stride, dilation, cpg) only change
// constants and loop bounds.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "generator/config_space.h"
#include "generator/generator.h"
#include "runtime/nvrtc/nvrtc_compiler.h"

namespace dcnjit::nvrtc {
namespace {

std::vector<gen::KernelSpec> swept_kernels() {
  const char* problems[] = {
      "N2 C256 H50 W76 Co256 k3x3 p1x1 og4 mask bias v2 f32",
      "N1 C64 H4200 W4200 Co64 k3x3 s2x2 p2x2 d2x2 og4 nomask v1 f16",
      "N2 C32 H20 W24 Co16 k5x5 p2x2 og1 mask bias v2 bf16",
  };
  std::map<std::string, gen::KernelSpec> unique;  // by name: sorted, each once
  for (const char* text : problems) {
    const Problem problem = Problem::parse(text);
    for (gen::Pass pass : {gen::Pass::forward, gen::Pass::backward})
      for (const Config& config : gen::enumerate_configs(problem, pass))
        for (const gen::KernelSpec& spec : gen::pass_kernels(problem, config, pass)) unique.emplace(spec.name(), spec);
  }
  // The fused pass lists col2im_coord only; the split pass col2im + coord: both appear above.
  std::vector<gen::KernelSpec> specs;
  for (auto& [name, spec] : unique) specs.push_back(spec);
  return specs;
}

TEST(ConfigSpaceCompile, EveryKernelCompilesForSm80AndSm90WithoutSpills) {
  const std::vector<gen::KernelSpec> specs = swept_kernels();
  // Sanity: every family is present, both index widths and both atomic strategies.
  for (gen::KernelKind kind : {gen::KernelKind::im2col, gen::KernelKind::col2im, gen::KernelKind::coord,
                               gen::KernelKind::col2im_coord, gen::KernelKind::bias_grad, gen::KernelKind::cast,
                               gen::KernelKind::reduce})
    EXPECT_TRUE(std::any_of(specs.begin(), specs.end(), [&](const auto& s) { return s.kind == kind; }))
        << gen::to_string(kind);
  EXPECT_TRUE(std::any_of(specs.begin(), specs.end(), [](const auto& s) { return s.index64; }));
  EXPECT_TRUE(std::any_of(specs.begin(), specs.end(), [](const auto& s) { return s.atomic == AtomicStrategy::warp; }));

  struct Job {
    const gen::KernelSpec* spec;
    int arch;
  };
  std::vector<Job> jobs;
  for (const gen::KernelSpec& spec : specs)
    for (int arch : {80, 90}) jobs.push_back({&spec, arch});

  std::atomic<std::size_t> next{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      std::string failure;
      try {
        const CompiledKernel k = compile(gen::generate_kernel(*job.spec), job.arch);
        if (k.format != detail::BinaryFormat::cubin || !k.resources.known)
          failure = "no ptxas resource report";
        else if (k.resources.spill_stores != 0 || k.resources.spill_loads != 0)
          failure = fmt::format("{} bytes spill stores, {} bytes spill loads, {} registers",
                                k.resources.spill_stores, k.resources.spill_loads, k.resources.registers);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        std::lock_guard lock(failures_mutex);
        failures.push_back(fmt::format("{} sm_{}: {}", job.spec->name(), job.arch, failure));
      }
    }
  };
  std::thread helper(worker);  // two compile threads: the CI machine has two cores
  worker();
  helper.join();
  std::sort(failures.begin(), failures.end());
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << jobs.size() << " compiles failed:\n"
                                << fmt::format("{}", fmt::join(failures, "\n"));
  RecordProperty("compiles", int(jobs.size()));
}

}  // namespace
}  // namespace dcnjit::nvrtc
