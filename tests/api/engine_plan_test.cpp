// Engine::plan's configs per direction on the cpu backend: one config runs both directions, two
// configs are kept apart and each validated (the error says which), and the workspace fits both.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "dcnjit/engine.h"

namespace dcnjit {
namespace {

const Problem kProblem = Problem::parse("N2 C4 H8 W8 Co4 k3x3 p1x1 mask");

Engine cpu_engine() {
  EngineOptions options;
  options.backend = Backend::cpu;
  options.threads = 1;
  options.tuning = TuningPolicy::off;
  return Engine(options);
}

TEST(EnginePlan, TuningOffRunsTheDefaultInBothDirections) {
  Engine engine = cpu_engine();
  const Plan plan = engine.plan(kProblem);
  EXPECT_GT(plan.config().im2col_step, 0);  // resolved
  EXPECT_EQ(plan.backward_config(), plan.config());
}

TEST(EnginePlan, OneConfigIsUsedForBothDirections) {
  Engine engine = cpu_engine();
  const Plan plan = engine.plan(kProblem, Config::parse("step=1 tile=256"));
  EXPECT_EQ(plan.config().to_string(), Config::parse("step=1 tile=256").to_string());
  EXPECT_EQ(plan.backward_config(), plan.config());
}

TEST(EnginePlan, TwoConfigsAreKeptPerDirectionAndTheWorkspaceFitsTheLarger) {
  Engine engine = cpu_engine();
  const Config forward = Config::parse("step=1 tile=256");
  const Config backward = Config::parse("step=2 tile=0");
  const Plan plan = engine.plan(kProblem, forward, backward);
  EXPECT_EQ(plan.config(), forward);
  EXPECT_EQ(plan.backward_config(), backward);
  const std::size_t forward_bytes = engine.plan(kProblem, forward).workspace_size();
  const std::size_t backward_bytes = engine.plan(kProblem, backward).workspace_size();
  ASSERT_NE(forward_bytes, backward_bytes) << "the two configs must need different scratch for this test";
  EXPECT_EQ(plan.workspace_size(), std::max(forward_bytes, backward_bytes));
  // Swapped, the larger one is still covered.
  EXPECT_EQ(engine.plan(kProblem, backward, forward).workspace_size(), std::max(forward_bytes, backward_bytes));
}

TEST(EnginePlan, ZeroStepIsResolvedInEachDirection) {
  Engine engine = cpu_engine();
  const Plan plan = engine.plan(kProblem, Config::parse("step=0 tile=256"), Config::parse("step=0 tile=1024"));
  const int heuristic_step = engine.plan(kProblem).config().im2col_step;
  EXPECT_EQ(plan.config().im2col_step, heuristic_step);
  EXPECT_EQ(plan.backward_config().im2col_step, heuristic_step);
  EXPECT_EQ(plan.backward_config().cpu_pixel_tile, 1024);
}

// The message of the Error `call` throws; fails the test when it throws nothing.
template <typename Call>
std::string invalid_argument_message(Call call) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

TEST(EnginePlan, AnInvalidConfigIsReportedWithItsDirection) {
  Engine engine = cpu_engine();
  const Config good = Config::parse("step=1 tile=256");
  Config bad = good;
  bad.cpu_pixel_tile = -4;

  const std::string forward_error = invalid_argument_message([&] { engine.plan(kProblem, bad, good); });
  EXPECT_EQ(forward_error.rfind("forward config: ", 0), 0u) << forward_error;
  EXPECT_NE(forward_error.find("cpu_pixel_tile=-4"), std::string::npos) << forward_error;

  const std::string backward_error = invalid_argument_message([&] { engine.plan(kProblem, good, bad); });
  EXPECT_EQ(backward_error.rfind("backward config: ", 0), 0u) << backward_error;
  EXPECT_NE(backward_error.find("cpu_pixel_tile=-4"), std::string::npos) << backward_error;
}

}  // namespace
}  // namespace dcnjit
