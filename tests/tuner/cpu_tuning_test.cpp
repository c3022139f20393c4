// Real measurements on the cpu backend through the public API: Engine with on_first_use tunes and
// persists both directions; a later Engine with cache_only gets the same configs without timing anything.
#include <gtest/gtest.h>

#include "dcnjit/engine.h"
#include "runtime/backend.h"
#include "tests/support/scratch_directory.h"
#include "tuner/autotuner.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;

const Problem kProblem = Problem::parse("N2 C8 H10 W10 Co8 k3x3 p1 mask bias");

TEST(CpuTuning, EveryPassMeasuresRealTimesAndPicksAValidConfig) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  EngineOptions options;
  options.threads = 1;
  auto backend = detail::make_cpu_backend(options);
  TuneOptions tune;
  tune.budget_s = 0.3;
  for (Pass pass : all_passes()) {
    const TuneResult r = tune_pass(*backend, kProblem, pass, tune, &db);
    ASSERT_TRUE(r.ok) << to_string(pass);
    EXPECT_EQ(r.failed, 0) << to_string(pass);
    ASSERT_TRUE(r.default_ms);
    EXPECT_GT(*r.default_ms, 0.0);
    EXPECT_GT(r.winner_ms, 0.0);
    EXPECT_LE(r.winner_ms, *r.default_ms);  // the default is a candidate, so the winner is never slower
    EXPECT_EQ(backend->resolve(kProblem, r.winner), r.winner) << r.winner.to_string();
    EXPECT_TRUE(db.find_winner(tuning_key(*backend, kProblem, pass))) << to_string(pass);
  }
}

TEST(CpuTuning, EngineOnFirstUseThenCacheOnlyDoesNotRetune) {
  ScratchDirectory dir;
  EngineOptions options;
  options.backend = Backend::cpu;
  options.threads = 1;
  options.cache_path = dir.file("c.sqlite");
  options.tuning = TuningPolicy::on_first_use;
  options.tune_budget_s = 0.3;
  Config tuned, tuned_backward;
  {
    Engine engine(options);
    const Plan plan = engine.plan(kProblem);
    tuned = plan.config();
    tuned_backward = plan.backward_config();
    EXPECT_EQ(engine.plan(kProblem).config(), tuned);  // memo hit
    EXPECT_EQ(engine.plan(kProblem).backward_config(), tuned_backward);
  }
  const int64_t trials = TuningDb::open(options.cache_path).trial_count();
  EXPECT_GT(trials, 0);
  {
    // The backward config is the winner of the full backward pass; no sub-pass was tuned.
    TuningDb db = TuningDb::open(options.cache_path);
    auto backend = detail::make_cpu_backend(options);
    const auto full = db.find_winner(tuning_key(*backend, kProblem, Pass::backward));
    ASSERT_TRUE(full);
    EXPECT_EQ(full->config, tuned_backward.to_string());
    EXPECT_FALSE(db.find_winner(tuning_key(*backend, kProblem, Pass::backward_data)));
    EXPECT_FALSE(db.find_winner(tuning_key(*backend, kProblem, Pass::backward_weight)));
  }

  options.tuning = TuningPolicy::cache_only;
  Engine cached(options);
  Plan plan = cached.plan(kProblem);
  EXPECT_EQ(plan.config(), tuned);
  EXPECT_EQ(plan.backward_config(), tuned_backward);
  EXPECT_EQ(TuningDb::open(options.cache_path).trial_count(), trials);

  // A miss under cache_only: the heuristic default, still no trial.
  const Problem other = Problem::parse("N1 C4 H6 W6 Co4 k3x3");
  EXPECT_EQ(cached.plan(other).config().to_string(),
            detail::make_cpu_backend(options)->default_config(other).to_string());
  EXPECT_EQ(TuningDb::open(options.cache_path).trial_count(), trials);
}

}  // namespace
}  // namespace dcnjit::tuner
