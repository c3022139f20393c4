// The kernels the sim's WMMA and cp.async tests run (tests/runtime/sim/tensor_core_kernels.h) compile
// unchanged with NVRTC for sm_80 and sm_90: the API the shim emulates is CUDA's, not a look-alike.
// No GPU is needed to compile.
#include <gtest/gtest.h>

#include "dcnjit/error.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tests/runtime/sim/tensor_core_kernels.h"

namespace dcnjit::nvrtc {
namespace {

class ShimApiKernels : public ::testing::TestWithParam<int> {};

TEST_P(ShimApiKernels, CompileWithNvrtc) {
  const int arch = GetParam();
  for (const sim::testing::TestKernel& kernel : sim::testing::tensor_core_test_kernels()) {
    gen::KernelSource source;
    source.name = kernel.name;
    source.source = kernel.source;
    source.param_type = "Params";
    try {
      const CompiledKernel compiled = compile(source, arch);
      EXPECT_FALSE(compiled.binary.empty()) << kernel.name;
      EXPECT_EQ(compiled.resources.spill_stores, 0) << kernel.name << " spills on sm_" << arch;
    } catch (const Error& e) {
      ADD_FAILURE() << kernel.name << " does not compile for sm_" << arch << ":\n" << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, ShimApiKernels, ::testing::Values(80, 90),
                         [](const ::testing::TestParamInfo<int>& info) { return "sm_" + std::to_string(info.param); });

}  // namespace
}  // namespace dcnjit::nvrtc
