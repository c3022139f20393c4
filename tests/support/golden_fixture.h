// The golden fixtures (tests/data/golden/<case>/, written by scripts/make_golden.py): listing, loading and
// comparing. Each case is a `dcnjit run` input directory plus the expected float64 results and case.json
// with the parameters the files do not fix. Every backend's test runs the same cases through
// run_golden_case() with its Backend and checks matches_golden().
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "tools/io/device_problem.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::test {

struct GoldenCase {
  std::string name;
  std::filesystem::path dir;
  std::string description;      // from case.json
  io::ProblemArrays inputs;     // problem (shapes from the files, parameters from case.json) + inputs + grad_y
  io::ProblemResults expected;  // y and every gradient the problem has

  // The parameters as `dcnjit run` flags: --stride a,b --pad a,b --dilation a,b --groups g --boundary v.
  std::vector<std::string> cli_flags() const;
};

// The fixture sets, each a directory of cases in the same layout:
//   golden     finite inputs (scripts/make_golden.py)
//   nonfinite  NaN and +-Inf in x, mask, weight and grad_y (scripts/make_nonfinite_golden.py)
enum class FixtureSet { golden, nonfinite };

// $DCNJIT_TEST_DATA/<set>, or the source tree's tests/data/<set> when the variable is unset (test
// discovery runs the executables without the test environment).
std::filesystem::path golden_root(FixtureSet set = FixtureSet::golden);

// The case names (directory names), sorted. Empty when the directory is missing.
std::vector<std::string> list_golden_cases(FixtureSet set = FixtureSet::golden);

// Loads one case; throws dcnjit::Error naming the file on a missing or malformed file.
GoldenCase load_golden_case(const std::string& name, FixtureSet set = FixtureSet::golden);

// Runs the case forward and backward (every gradient) on a fresh Engine of `backend`, with the arrays
// stored in `layout` (the fixtures are NCHW; nhwc permutes the activations in and the results back out).
io::ProblemResults run_golden_case(const GoldenCase& golden, Backend backend, Layout layout = Layout::nchw);

// ||actual - expected||_2 / ||expected||_2 in double; the absolute norm of the difference when expected
// is all zeros. Sizes must match.
double relative_l2(const std::vector<float>& actual, const std::vector<float>& expected);

// Compares y and every gradient present in `expected`: shapes, NaN, +Inf and -Inf at exactly the
// expected positions, and the relative L2 error of the other elements <= tolerance. The failure message
// lists each array with its error and the first misplaced non-finite value.
::testing::AssertionResult matches_golden(const io::ProblemResults& actual, const io::ProblemResults& expected,
                                          double tolerance);

}  // namespace dcnjit::test
