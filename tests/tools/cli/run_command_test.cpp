// `dcnjit run` as a user runs it: the built binary on a golden fixture, and the exit status and the single
// `error:` line for each kind of bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "tests/support/golden_fixture.h"
#include "tests/support/scratch_directory.h"
#include "tools/io/npy.h"

namespace dcnjit::test {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;
using ::testing::StartsWith;

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

std::string quoted(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliResult run_cli(const std::vector<std::string>& args) {
  std::string command = quoted(DCNJIT_CLI_PATH) + " run";
  for (const auto& a : args) {
    command += ' ';
    command += quoted(a);
  }
  command += " 2>&1";
  CliResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  std::array<char, 4096> buffer;
  std::size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), got);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Copies the fixture's input files into `dir` (so a test can break one of them).
void copy_inputs(const GoldenCase& golden, const std::filesystem::path& dir) {
  for (const char* name : {"x.npy", "offset.npy", "weight.npy", "mask.npy", "bias.npy", "grad_y.npy"})
    if (std::filesystem::exists(golden.dir / name)) std::filesystem::copy_file(golden.dir / name, dir / name);
}

io::ProblemResults read_results(const std::filesystem::path& dir) {
  io::ProblemResults r;
  r.y = io::read_npy(dir / "y.npy");
  auto optional = [&](const char* name) -> std::optional<io::HostArray> {
    if (!std::filesystem::exists(dir / name)) return std::nullopt;
    return io::read_npy(dir / name);
  };
  r.grad_x = optional("grad_x.npy");
  r.grad_offset = optional("grad_offset.npy");
  r.grad_weight = optional("grad_weight.npy");
  r.grad_mask = optional("grad_mask.npy");
  r.grad_bias = optional("grad_bias.npy");
  return r;
}

// The same f32-vs-float64 tolerance as the golden test (tests/golden/golden_test.cpp explains it).
constexpr double kGoldenTolerance = 1e-5;

class RunCommandGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(RunCommandGolden, BackwardOutputsMatchTheFixture) {
  const GoldenCase golden = load_golden_case(GetParam());
  ScratchDirectory out;
  std::vector<std::string> args = {"--in", golden.dir.string(), "--out", (out / "results").string(), "--backward"};
  for (const auto& flag : golden.cli_flags()) args.push_back(flag);
  const CliResult r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const io::ProblemResults results = read_results(out / "results");
  EXPECT_EQ(results.grad_mask.has_value(), golden.inputs.problem.mask) << "grad_mask.npy exactly with a mask";
  EXPECT_EQ(results.grad_bias.has_value(), golden.inputs.problem.bias) << "grad_bias.npy exactly with a bias";
  EXPECT_TRUE(matches_golden(results, golden.expected, kGoldenTolerance));
}

// One case with mask, bias and per-axis parameters; one v1 case with offset groups and no bias;
// one without mask.
INSTANTIATE_TEST_SUITE_P(Cases, RunCommandGolden,
                         ::testing::Values("v2_nonsquare_per_axis", "v1_offset_groups2_nonsquare",
                                           "v2_nomask_nobias_batch2"));

TEST(RunCommand, ForwardOnlyWritesJustY) {
  const GoldenCase golden = load_golden_case("v2_mask_bias_3x3_pad1");
  ScratchDirectory out;
  std::vector<std::string> args = {"--in", golden.dir.string(), "--out", out.path().string(), "--threads", "1"};
  for (const auto& flag : golden.cli_flags()) args.push_back(flag);
  const CliResult r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(out / "y.npy"));
  EXPECT_FALSE(std::filesystem::exists(out / "grad_x.npy"));
  io::ProblemResults results;
  results.y = io::read_npy(out / "y.npy");
  io::ProblemResults expected;
  expected.y = golden.expected.y;
  EXPECT_TRUE(matches_golden(results, expected, kGoldenTolerance));
}

// A failing run: exit status `code` and exactly one line, "error: ..." containing `what`.
void expect_failure(const std::vector<std::string>& args, int code, const std::string& what) {
  const CliResult r = run_cli(args);
  EXPECT_EQ(r.exit_code, code) << r.output;
  EXPECT_THAT(r.output, StartsWith("error: "));
  EXPECT_THAT(r.output, HasSubstr(what));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

class RunCommandErrors : public ::testing::Test {
 protected:
  void SetUp() override { copy_inputs(load_golden_case("v2_mask_bias_3x3_pad1"), in_.path()); }
  // The fixture's flags plus `extra`.
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"--in", in_.path().string(), "--out", (out_ / "o").string(), "--pad", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string in(const char* name) const { return (in_ / name).string(); }

  ScratchDirectory in_, out_;
};

TEST_F(RunCommandErrors, InputsAreValidAsCopied) {
  const CliResult r = run_cli(args({"--backward"}));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(RunCommandErrors, MissingIn) {
  expect_failure({"--out", (out_ / "o").string()}, 2, "error: --in DIR is required");
}

TEST_F(RunCommandErrors, MissingX) {
  std::filesystem::remove(in_ / "x.npy");
  expect_failure(args(), 1, "error: " + in("x.npy") + ": cannot open for reading (No such file or directory)");
}

TEST_F(RunCommandErrors, CorruptNpy) {
  std::ofstream(in_ / "offset.npy", std::ios::trunc) << "this is not an array";
  expect_failure(args(), 1, "error: " + in("offset.npy") + ": not a .npy file");
}

TEST_F(RunCommandErrors, TruncatedNpy) {
  std::filesystem::resize_file(in_ / "weight.npy", std::filesystem::file_size(in_ / "weight.npy") - 4);
  expect_failure(args(), 1, "error: " + in("weight.npy") + ": data truncated");
}

TEST_F(RunCommandErrors, BackwardWithoutGradY) {
  std::filesystem::remove(in_ / "grad_y.npy");
  expect_failure(args({"--backward"}), 1, "error: " + in("grad_y.npy") + ": missing");
  EXPECT_EQ(run_cli(args()).exit_code, 0) << "forward alone does not need grad_y.npy";
}

TEST_F(RunCommandErrors, BadStride) {
  expect_failure(args({"--stride", "2,x"}), 2, "error: --stride: 'x' is not an integer");
  expect_failure(args({"--stride", "0"}), 2, "error: --stride: 0 is outside [1, ");
}

TEST_F(RunCommandErrors, BadBoundary) {
  expect_failure(args({"--boundary", "v3"}), 2, "error: --boundary: 'v3' is not one of v1, v2");
}

TEST_F(RunCommandErrors, BadDtypeAndBackend) {
  expect_failure(args({"--dtype", "f8"}), 2, "error: --dtype: 'f8' is not one of f32, f16, bf16, f64");
  expect_failure(args({"--backend", "gpu"}), 2, "error: --backend: 'gpu' is not one of cpu, cuda, sim");
}

TEST_F(RunCommandErrors, UnknownFlag) {
  expect_failure(args({"--strid", "2"}), 2, "error: unexpected argument(s): --strid 2");
}

TEST_F(RunCommandErrors, WeightDoesNotMatchXForTheGroups) {
  expect_failure(args({"--groups", "2"}), 1,
                 "error: " + in("weight.npy") + ": shape [3, 2, 3, 3] has 2 input channels per group, but " +
                     in("x.npy") + " has C=2 and groups=2 needs C/groups=1");
}

TEST_F(RunCommandErrors, OffsetDoesNotMatchThePadding) {
  expect_failure({"--in", in_.path().string(), "--out", (out_ / "o").string()}, 1,
                 "error: " + in("offset.npy") + ": spatial size 5x5 does not match 3x3");
}

}  // namespace
}  // namespace dcnjit::test
