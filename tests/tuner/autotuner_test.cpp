// The search against a FakeBackend whose costs the tests set: the fastest valid config wins, failing
// configs are recorded but never win, invalid ones are pruned before running, and the budget holds.
#include "tuner/autotuner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "tests/tuner/fake_backend.h"
#include "tests/support/scratch_directory.h"
#include "tuner/config_space.h"

namespace dcnjit::tuner {
namespace {

using testing::FakeBackend;
using testing::has_knob;
using dcnjit::testing::ScratchDirectory;

Problem small_problem() { return Problem::parse("N4 C4 H8 W8 Co4 k3x3 p1x1 mask"); }

TEST(ConfigSpaceCpu, DefaultFirstThenOnlyValidConfigs) {
  FakeBackend backend;
  const Problem p = small_problem();
  const auto candidates = candidate_configs(backend, p, Pass::forward);
  ASSERT_FALSE(candidates.empty());
  EXPECT_EQ(candidates.front(), backend.default_config(p));
  // steps {1, 2, 4} (divisors of N=4) x tiles {0, 256, 1024, 4096}
  EXPECT_EQ(candidates.size(), 12u);
  for (const Config& c : candidates) EXPECT_EQ(backend.resolve(p, c), c) << c.to_string();
}

TEST(ConfigSpaceCpu, TamperedStoredValuesAreRefusedWithTheReason) {
  FakeBackend backend;
  const Problem p = small_problem();
  const Config c = backend.default_config(p);
  EXPECT_TRUE(read_stored_config(backend, p, c.to_string()).config);
  EXPECT_NE(read_stored_config(backend, p, "im2col step=1 tile=999").why_not.find("tile=999"), std::string::npos);
  EXPECT_NE(read_stored_config(backend, p, "im2col step=3 tile=0").why_not.find("step does not divide N"),
            std::string::npos);
  EXPECT_NE(read_stored_config(backend, p, "im2col tile=0").why_not.find("not canonical"), std::string::npos);
  EXPECT_NE(read_stored_config(backend, p, "step=1 tile=0").why_not.find("no algorithm"), std::string::npos);
  EXPECT_NE(read_stored_config(backend, p, "im2col step=1 tile=0 cols=keep").why_not.find("unknown knob 'cols'"),
            std::string::npos);
}

TEST(AutotunerCpu, FastestConfigWinsAndEveryTrialIsRecorded) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  // step=2 tile=1024 is 10x faster than everything else: a margin no timing noise can invert.
  backend.cost_us = [](const Config& c) {
    return has_knob(c, "step", "2") && has_knob(c, "tile", "1024") ? 30.0 : 300.0;
  };
  TuneOptions options;
  options.budget_s = 30;  // ample: the whole space is measured
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, &db);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.winner.to_string(), "im2col step=2 tile=1024");
  EXPECT_EQ(r.measured, 12);
  EXPECT_EQ(r.failed, 0);
  EXPECT_TRUE(r.stored);
  ASSERT_TRUE(r.default_ms);
  EXPECT_GT(*r.default_ms, r.winner_ms);
  EXPECT_EQ(db.trial_count(), 12);
  auto stored = db.find_winner(tuning_key(backend, small_problem(), Pass::forward));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->config, r.winner.to_string());
  EXPECT_EQ(stored->default_config, backend.default_config(small_problem()).to_string());
}

TEST(AutotunerCpu, FailingConfigsAreRecordedAsFailedAndNeverWin) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  // tile=4096 "fails to launch"; it would otherwise be the fastest.
  backend.cost_us = [](const Config& c) {
    return has_knob(c, "tile", "4096") ? -1.0 : has_knob(c, "tile", "256") ? 30.0 : 300.0;
  };
  TuneOptions options;
  options.budget_s = 30;
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, &db);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(has_knob(r.winner, "tile", "256")) << r.winner.to_string();
  EXPECT_EQ(r.failed, 3);  // one per step value
  int failed_rows = 0;
  for (const Trial& t : db.trials()) {
    if (!t.ok) {
      ++failed_rows;
      EXPECT_NE(t.error.find("fake launch failure"), std::string::npos) << t.error;
    }
  }
  EXPECT_EQ(failed_rows, 3);
}

TEST(AutotunerCpu, ConfigsWhoseKernelsDoNotFitArePrunedUntimedButTheDefaultIsAlwaysTimed) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  const Config default_config = backend.default_config(small_problem());
  // Every config "spills", the default included: the default is still timed (it is the baseline every
  // speedup is measured against), the others are recorded as pruned and never run.
  backend.resources = [](const Config&) { return std::string("spills 64 bytes"); };
  backend.cost_us = [](const Config& c) { return has_knob(c, "tile", "1024") ? 30.0 : 300.0; };
  TuneOptions options;
  options.budget_s = 30;
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, &db);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.winner, default_config);
  EXPECT_EQ(r.measured, 1);
  EXPECT_EQ(r.pruned, 11);
  EXPECT_GT(backend.runs.load(), 0);
  int pruned_rows = 0;
  for (const Trial& t : db.trials()) {
    if (t.error.rfind("pruned: spills 64 bytes", 0) == 0) {
      ++pruned_rows;
      EXPECT_FALSE(t.ok);
    }
  }
  EXPECT_EQ(pruned_rows, 11);
}

TEST(AutotunerCpu, ReportsTheBestTimeOfEveryAlgorithmThatRan) {
  FakeBackend backend;
  backend.cost_us = [](const Config& c) { return has_knob(c, "tile", "1024") ? 30.0 : 3000.0; };
  TuneOptions options;
  options.budget_s = 30;
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, nullptr);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.best_by_algorithm.size(), 1u);  // the fake has one algorithm
  ASSERT_TRUE(r.best_by_algorithm.count("im2col"));
  EXPECT_DOUBLE_EQ(r.best_by_algorithm.at("im2col"), r.winner_ms);
  EXPECT_LT(r.winner_ms, 1.0);  // a 30 us config won, not a 3 ms one
}

TEST(AutotunerCpu, AllConfigsFailingStoresNoWinner) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  backend.cost_us = [](const Config&) { return -1.0; };
  TuneOptions options;
  options.budget_s = 30;
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, &db);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.default_ms);
  EXPECT_EQ(r.winner, backend.default_config(small_problem()));
  EXPECT_FALSE(db.find_winner(tuning_key(backend, small_problem(), Pass::forward)));
  EXPECT_EQ(db.trial_count(), 12);
}

TEST(AutotunerCpu, AConfigThatLosesTheDeviceStopsTheSearchAndStoresNothing) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  const Problem p = small_problem();
  const std::vector<Config> candidates = candidate_configs(backend, p, Pass::forward);
  const Config faulting = candidates[2];  // the default and one more run fine first
  backend.faults = [&](const Config& c) { return c == faulting; };
  TuneOptions options;
  options.budget_s = 30;
  TuneResult r;
  ASSERT_NO_THROW(r = tune_pass(backend, p, Pass::forward, options, &db));
  EXPECT_NE(r.device_lost.find("fake illegal address"), std::string::npos) << r.device_lost;
  EXPECT_EQ(r.measured, 3) << "nothing is measured after the fault";
  EXPECT_EQ(backend.runs_after_loss.load(), 0);
  EXPECT_EQ(r.failed, 1);
  EXPECT_TRUE(r.ok);  // two configs did run...
  EXPECT_FALSE(r.stored);  // ...but a search cut short is not a winner
  EXPECT_FALSE(db.find_winner(tuning_key(backend, p, Pass::forward)));
  const std::vector<Trial> trials = db.trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_FALSE(trials.back().ok);
  EXPECT_EQ(trials.back().config, faulting.to_string());
}

TEST(AutotunerCpu, BudgetStopsTheSearchButTheDefaultIsAlwaysTimed) {
  FakeBackend backend;
  backend.cost_us = [](const Config&) { return 20000.0; };  // 20 ms per run
  TuneOptions options;
  options.budget_s = 0.05;
  const auto start = std::chrono::steady_clock::now();
  const TuneResult r = tune_pass(backend, small_problem(), Pass::forward, options, nullptr);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.default_ms);
  EXPECT_LT(r.measured, r.candidates);
  // One config costs at most warm-up + estimate + 3 repeats = 5 runs = 0.1 s; allow the budget plus
  // one config plus scheduling slack on a loaded 2-core CI machine.
  EXPECT_LT(seconds, 0.05 + 0.1 + 0.5);
}

TEST(AutotunerCpu, BackwardPassesAreKeyedSeparately) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  TuneOptions options;
  options.budget_s = 0.2;
  tune_pass(backend, small_problem(), Pass::backward_weight, options, &db);
  EXPECT_TRUE(db.find_winner(tuning_key(backend, small_problem(), Pass::backward_weight)));
  EXPECT_FALSE(db.find_winner(tuning_key(backend, small_problem(), Pass::forward)));
}

// What each pass times is what it requests: the full backward asks for every gradient the problem
// has (so the fused col2im+coord kernel can run), each sub-pass for its own only.
TEST(AutotunerCpu, EachPassRequestsExactlyItsGradients) {
  struct Case {
    Pass pass;
    const char* problem;
    PassOutputs expected;
  };
  const Case cases[] = {
      {Pass::backward, "N2 C4 H8 W8 Co4 k3x3 p1 mask bias", {false, true, true, true, true, true}},
      {Pass::backward, "N2 C4 H8 W8 Co4 k3x3 p1 nomask nobias", {false, true, true, false, true, false}},
      {Pass::backward_data, "N2 C4 H8 W8 Co4 k3x3 p1 mask bias", {false, true, false, false, false, false}},
      {Pass::backward_offset_mask, "N2 C4 H8 W8 Co4 k3x3 p1 mask bias", {false, false, true, true, false, false}},
      {Pass::backward_weight, "N2 C4 H8 W8 Co4 k3x3 p1 mask bias", {false, false, false, false, true, true}},
  };
  for (const Case& c : cases) {
    FakeBackend backend;
    TuneOptions options;
    options.budget_s = 0.01;  // the default config alone is enough to see the request
    ASSERT_TRUE(tune_pass(backend, Problem::parse(c.problem), c.pass, options, nullptr).ok);
    ASSERT_TRUE(backend.last_backward_outputs()) << to_string(c.pass);
    EXPECT_EQ(*backend.last_backward_outputs(), c.expected) << to_string(c.pass) << " " << c.problem;
    EXPECT_FALSE(backend.last_forward_config()) << "a backward pass runs no forward call";
  }
}

TEST(ConfigSpaceCuda, BackwardSpaceHoldsFusedSplitAtomicsAndGemmAlgorithms) {
  FakeBackend backend;
  backend.space = Backend::cuda;
  const auto candidates = candidate_configs(backend, small_problem(), Pass::backward);
  auto offers = [&](auto&& predicate) { return std::any_of(candidates.begin(), candidates.end(), predicate); };
  EXPECT_TRUE(offers([](const Config& c) { return has_knob(c, "bwd", "fused"); }));
  EXPECT_TRUE(offers([](const Config& c) { return has_knob(c, "bwd", "split"); }));
  EXPECT_TRUE(offers([](const Config& c) { return has_knob(c, "atomic", "warp"); }));
  EXPECT_TRUE(offers([](const Config& c) { return has_knob(c, "gemm_dcol", "3"); }));
  EXPECT_TRUE(offers([](const Config& c) { return has_knob(c, "gemm_wgrad", "3"); }));
  EXPECT_TRUE(offers([](const Config& c) { return !has_knob(c, "threads", "256"); }));
  // The forward GEMM's algorithm is a forward knob: backward keeps it at the heuristic's choice.
  for (const Config& c : candidates) EXPECT_TRUE(has_knob(c, "gemm_fwd", "0")) << c.to_string();
}

TEST(ConfigSpaceCuda, ForwardSpaceVariesOnlyForwardKnobs) {
  FakeBackend backend;
  backend.space = Backend::cuda;
  const auto candidates = candidate_configs(backend, small_problem(), Pass::forward);
  for (const Config& c : candidates) {
    EXPECT_TRUE(has_knob(c, "bwd", "fused") && has_knob(c, "atomic", "plain")) << c.to_string();
    EXPECT_TRUE(has_knob(c, "gemm_dcol", "0") && has_knob(c, "gemm_wgrad", "0")) << c.to_string();
  }
  EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(),
                          [](const Config& c) { return has_knob(c, "gemm_fwd", "3"); }));
}

}  // namespace
}  // namespace dcnjit::tuner
