// `dcnjit run --backend sim --backward`, the real binary, on every golden fixture directory: the
// sim backend end to end as a user runs it (argument parsing, .npy in and out, Engine, the generated
// kernels compiled by the host compiler and loaded from the binary cache), compared with the
// fixtures' float64 references; and with --dtype f16 on two fixtures.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/runtime/sim/child_process.h"
#include "tests/support/scratch_directory.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"
#include "core/problem_tensors.h"
#include "tools/io/npy.h"

namespace dcnjit::sim {
namespace {

using testing::ChildResult;
using testing::run_child;
using dcnjit::testing::ScratchDirectory;

// f32: the tolerance of tests/golden/golden_test.cpp (its comment derives it: at most ~100 f32
// roundings per output, typical relative error ~1e-7). The CLI computes in f32 like the API, and
// writes f32 .npy files, which loses nothing.
constexpr double kF32Tolerance = 1e-5;
// f16: the CLI rounds every input to f16 (unit roundoff 2^-11 = 4.9e-4) and the kernels store their
// outputs and intermediate columns as f16. A product of two rounded inputs is off by up to ~1e-3
// relative, but the errors of the independent roundings have random signs, so the relative L2 of a
// whole tensor is ~sqrt(2..3) * 2.8e-4 (the rms of one rounding) ~ 5e-4; measured on the two
// fixtures below: 2.6e-4 (grad_bias) to 8.4e-4 (grad_weight), the same under every thread order.
// 1e-3 passes that and still fails a wrong tap, corner or mask, which moves whole terms (>= 1e-2
// relative at these sizes).
constexpr double kF16Tolerance = 1e-3;

// The arrays `dcnjit run --backward` wrote to `dir`, those that `expected` has; a missing file throws
// Error(IoError) naming it.
io::ProblemResults read_outputs(const std::filesystem::path& dir, const io::ProblemResults& expected) {
  io::ProblemResults results;
  results.y = io::read_npy(dir / "y.npy");
  auto read_if_expected = [&](const std::optional<io::HostArray>& reference, std::optional<io::HostArray>& actual,
                              const char* file) {
    if (reference) actual = io::read_npy(dir / file);
  };
  read_if_expected(expected.grad_x, results.grad_x, "grad_x.npy");
  read_if_expected(expected.grad_offset, results.grad_offset, "grad_offset.npy");
  read_if_expected(expected.grad_weight, results.grad_weight, "grad_weight.npy");
  read_if_expected(expected.grad_mask, results.grad_mask, "grad_mask.npy");
  read_if_expected(expected.grad_bias, results.grad_bias, "grad_bias.npy");
  return results;
}

// Runs `dcnjit run --backend sim --backward` on the fixture's directory with its flags (plus `extra`)
// and returns what it wrote.
io::ProblemResults run_cli(const test::GoldenCase& golden, const std::vector<std::string>& extra) {
  ScratchDirectory out;
  std::vector<std::string> argv = {DCNJIT_CLI_PATH, "run",       "--in",       golden.dir.string(),
                                   "--out",         out.path(),  "--backend",  "sim",
                                   "--backward"};
  for (const std::string& flag : golden.cli_flags()) argv.push_back(flag);
  argv.insert(argv.end(), extra.begin(), extra.end());
  const ChildResult run = run_child(argv);
  EXPECT_EQ(run.exit_code, 0) << fmt::format("{}\n{}", fmt::join(argv, " "), run.output);
  if (run.exit_code != 0) return {};
  return read_outputs(out.path(), golden.expected);
}

// The same, compared with the fixture's references.
void run_cli_and_compare(const std::string& name, const std::vector<std::string>& extra, double tolerance) {
  const test::GoldenCase golden = test::load_golden_case(name);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemResults results = run_cli(golden, extra);
  if (!::testing::Test::HasFailure()) {
    EXPECT_TRUE(test::matches_golden(results, golden.expected, tolerance));
  }
}

class SimCli : public ::testing::TestWithParam<std::string> {};

TEST_P(SimCli, RunBackwardMatchesReference) { run_cli_and_compare(GetParam(), {}, kF32Tolerance); }

INSTANTIATE_TEST_SUITE_P(Fixtures, SimCli, ::testing::ValuesIn(test::list_golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Two fixtures cover f16 storage (the f32 accumulators, their casts, f16 atomics): one with a mask and bias
// and points between cells, one with groups and offset groups.
class SimCliF16 : public ::testing::TestWithParam<std::string> {};

TEST_P(SimCliF16, RunBackwardInHalfPrecisionMatchesReference) {
  run_cli_and_compare(GetParam(), {"--dtype", "f16"}, kF16Tolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimCliF16, ::testing::Values("v2_mask_bias_3x3_pad1", "v2_groups3_offset_groups2"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// --allow-tf32 reaches the f32 GEMMs: the results move (the fixtures' inputs are not TF32 values) but stay
// within TF32's error of the references. 2e-3: TF32 keeps 10 mantissa bits, so each operand is off by
// up to 2^-11 ~ 4.9e-4 relative and a product by up to ~1e-3 (tests/runtime/sim/gemm_precision_test.cpp).
TEST(SimCliTf32, AllowTf32ChangesTheGemmsWithinTheirError) {
  const test::GoldenCase golden = test::load_golden_case("v2_mask_bias_3x3_pad1");
  const io::ProblemResults exact = run_cli(golden, {});
  const io::ProblemResults tf32 = run_cli(golden, {"--allow-tf32"});
  ASSERT_FALSE(::testing::Test::HasFailure());
  EXPECT_TRUE(test::matches_golden(tf32, golden.expected, 2e-3));
  EXPECT_FALSE(test::matches_golden(tf32, exact, 1e-6)) << "--allow-tf32 changed nothing";
}

// NHWC files: the fixture's arrays written in channels-last order (x [N,H,W,C], offset [N,Ho,Wo,2*og*k],
// mask [N,Ho,Wo,og*k], grad_y [N,Ho,Wo,Co]), run with --layout nhwc; the outputs come back channels-last
// and, permuted to NCHW, match the fixture's references.
class SimCliNhwc : public ::testing::TestWithParam<std::string> {};

TEST_P(SimCliNhwc, RunBackwardOnChannelsLastFilesMatchesReference) {
  const test::GoldenCase golden = test::load_golden_case(GetParam());
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemArrays nhwc = test::in_layout(golden.inputs, Layout::nhwc);
  ScratchDirectory in, out;
  io::write_npy(std::filesystem::path(in.path()) / "x.npy", nhwc.x);
  io::write_npy(std::filesystem::path(in.path()) / "offset.npy", nhwc.offset);
  io::write_npy(std::filesystem::path(in.path()) / "weight.npy", nhwc.weight);
  if (nhwc.mask) io::write_npy(std::filesystem::path(in.path()) / "mask.npy", *nhwc.mask);
  if (nhwc.bias) io::write_npy(std::filesystem::path(in.path()) / "bias.npy", *nhwc.bias);
  io::write_npy(std::filesystem::path(in.path()) / "grad_y.npy", *nhwc.grad_y);
  std::vector<std::string> argv = {DCNJIT_CLI_PATH, "run",     "--in",     in.path(), "--out", out.path(),
                                   "--backend",     "sim",     "--backward", "--layout", "nhwc"};
  for (const std::string& flag : golden.cli_flags()) argv.push_back(flag);
  const ChildResult run = run_child(argv);
  ASSERT_EQ(run.exit_code, 0) << fmt::format("{}\n{}", fmt::join(argv, " "), run.output);
  io::ProblemResults written = read_outputs(out.path(), golden.expected);
  EXPECT_EQ(written.y.shape, tensor_shape(nhwc.problem, TensorRole::y).memory_shape()) << "y is written channels-last";
  EXPECT_TRUE(test::matches_golden(test::to_nchw(written, nhwc.problem), golden.expected, kF32Tolerance))
      << fmt::format("{}\n{}", fmt::join(argv, " "), run.output);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimCliNhwc, ::testing::Values("v2_mask_bias_3x3_pad1", "v1_offset_groups2_nonsquare"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// DCNJIT_SIM_CXXFLAGS=-ffast-math took the NaN out of the kernels' range tests: NaN offsets then
// indexed anywhere (SIGSEGV). The flags that break the contract are undone after the user's, so the
// results equal those of the default flags, NaN, Inf and huge offsets included.
TEST(SimCliFlags, FastMathFlagsDoNotChangeTheResults) {
  const test::GoldenCase golden = test::load_golden_case("v2_mask_bias_3x3_pad1");
  ScratchDirectory in, plain, fast;
  io::ProblemArrays arrays = golden.inputs;
  std::vector<float>& offset = arrays.offset.data;
  for (std::size_t i = 0; i < offset.size(); i += 5) offset[i] = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 2; i < offset.size(); i += 7) offset[i] = std::numeric_limits<float>::infinity();
  for (std::size_t i = 3; i < offset.size(); i += 11) offset[i] = -1e30f;
  io::write_npy(in / "x.npy", arrays.x);
  io::write_npy(in / "offset.npy", arrays.offset);
  io::write_npy(in / "weight.npy", arrays.weight);
  io::write_npy(in / "mask.npy", *arrays.mask);
  io::write_npy(in / "bias.npy", *arrays.bias);
  io::write_npy(in / "grad_y.npy", *arrays.grad_y);
  auto run = [&](const ScratchDirectory& out, const std::string& flags) {
    std::vector<std::string> argv = {DCNJIT_CLI_PATH, "run", "--in", in.path(), "--out", out.path(), "--backend", "sim",
                                     "--backward"};
    for (const std::string& flag : golden.cli_flags()) argv.push_back(flag);
    const ChildResult result = run_child(argv, {{"DCNJIT_SIM_CXXFLAGS", flags}});
    EXPECT_EQ(result.exit_code, 0) << "DCNJIT_SIM_CXXFLAGS=" << flags << "\n" << result.output;
    return result.exit_code == 0;
  };
  ASSERT_TRUE(run(plain, ""));
  ASSERT_TRUE(run(fast, "-ffast-math"));
  const io::ProblemResults expected = read_outputs(plain.path(), golden.expected);
  EXPECT_TRUE(test::matches_golden(read_outputs(fast.path(), golden.expected), expected, kF32Tolerance));
}

}  // namespace
}  // namespace dcnjit::sim
