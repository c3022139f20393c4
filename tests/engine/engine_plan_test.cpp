// Engine::plan's configs per direction: one config runs both directions, two configs are kept apart and
// each resolved against the algorithm's knob table (the error says which direction), the workspace fits
// both, and EngineOptions::algorithm restricts the backend to one algorithm.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
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
  EXPECT_EQ(plan.config().to_string(), "im2col step=2 tile=0 gemm=onednn");  // resolved: every knob named
  EXPECT_EQ(plan.backward_config(), plan.config());
}

TEST(EnginePlan, OneConfigIsUsedForBothDirections) {
  Engine engine = cpu_engine();
  const Plan plan = engine.plan(kProblem, Config::parse("step=1 tile=256"));
  EXPECT_EQ(plan.config().to_string(), "im2col step=1 tile=256 gemm=onednn");
  EXPECT_EQ(plan.backward_config(), plan.config());
}

TEST(EnginePlan, TwoConfigsAreKeptPerDirectionAndTheWorkspaceFitsTheLarger) {
  Engine engine = cpu_engine();
  const Config forward = Config::parse("im2col step=1 tile=256 gemm=onednn");
  const Config backward = Config::parse("im2col step=2 tile=0 gemm=onednn");
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

TEST(EnginePlan, LeftOutKnobsTakeTheirDefaultsInEachDirection) {
  Engine engine = cpu_engine();
  const Plan plan = engine.plan(kProblem, Config::parse("tile=256"), Config::parse("tile=1024"));
  const std::string heuristic_step = *engine.plan(kProblem).config().find("step");
  EXPECT_EQ(*plan.config().find("step"), heuristic_step);
  EXPECT_EQ(*plan.backward_config().find("step"), heuristic_step);
  EXPECT_EQ(*plan.backward_config().find("tile"), "1024");
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
  const Config bad = Config::parse("step=1 tile=-4");

  const std::string forward_error = invalid_argument_message([&] { engine.plan(kProblem, bad, good); });
  EXPECT_EQ(forward_error.rfind("forward config: ", 0), 0u) << forward_error;
  EXPECT_NE(forward_error.find("tile=-4 is invalid for algorithm im2col"), std::string::npos) << forward_error;

  const std::string backward_error = invalid_argument_message([&] { engine.plan(kProblem, good, bad); });
  EXPECT_EQ(backward_error.rfind("backward config: ", 0), 0u) << backward_error;
  EXPECT_NE(backward_error.find("tile=-4"), std::string::npos) << backward_error;
}

// Each backend says which knobs it has: the cpu backend has no GPU launch knobs, the sim none of cuBLASLt's.
TEST(EnginePlan, KnobsOfAnotherBackendAreRejectedNamingTheKnownOnes) {
  Engine engine = cpu_engine();
  EXPECT_NE(invalid_argument_message([&] { engine.plan(kProblem, Config::parse("threads=100000")); })
                .find("unknown knob 'threads' for algorithm im2col (its knobs: step, tile, gemm)"),
            std::string::npos);
  EngineOptions sim_options;
  sim_options.backend = Backend::sim;
  sim_options.threads = 1;
  Engine sim(sim_options);
  EXPECT_NE(invalid_argument_message([&] { sim.plan(kProblem, Config::parse("threads=100000")); })
                .find("threads=100000 is invalid for algorithm im2col (expected one of 128, 256, 512"),
            std::string::npos);
  EXPECT_NE(invalid_argument_message([&] { sim.plan(kProblem, Config::parse("gemm_fwd=1")); })
                .find("unknown knob 'gemm_fwd'"),
            std::string::npos);
}

TEST(EnginePlan, AnUnknownAlgorithmIsNamedWithTheBackendsOwn) {
  Engine engine = cpu_engine();
  EXPECT_NE(invalid_argument_message([&] { engine.plan(kProblem, Config::parse("fused bm=64")); })
                .find("algorithm: 'fused' is not one of the cpu backend's (im2col)"),
            std::string::npos);
  for (Backend backend : {Backend::cpu, Backend::sim}) try {
    EngineOptions options;
    options.backend = backend;
    options.algorithm = "winograd";
    Engine restricted(options);
    ADD_FAILURE() << "an unknown --algorithm was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(std::string("algorithm: 'winograd' is not one of the ") + to_string(backend) +
                                         " backend's (im2col"),
              std::string::npos)
        << e.what();
  }
}

// Engine::allocate rounded the size up to whole cache lines first: SIZE_MAX - 10 wrapped to a tiny block
// handed out as if it were that large. Now an error naming the bytes, before anything is allocated.
TEST(EngineAllocate, ASizeTheMachineCannotHaveIsAnErrorNotATinyBlock) {
  Engine engine(EngineOptions{});
  try {
    DeviceBuffer buffer = engine.allocate(std::numeric_limits<std::size_t>::max() - 10);
    ADD_FAILURE() << "a buffer of " << buffer.size() << " bytes was returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_NE(std::string(e.what()).find("cannot allocate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dcnjit
