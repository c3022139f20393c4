// Real measurements of generated kernels on the sim backend (the CUDA source run on the CPU): kept to
// one tiny problem and a short budget, because every candidate config is a host compile.
#include <gtest/gtest.h>

#include "runtime/backend.h"
#include "tests/support/scratch_directory.h"
#include "tuner/autotuner.h"
#include "tuner/config_space.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;

TEST(SimTuning, ForwardOfATinyProblemTimesGeneratedKernelsWithinTheBudget) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 1;
  auto backend = detail::make_backend(options);
  const Problem problem = Problem::parse("N1 C4 H6 W6 Co4 k3x3 p1 mask");
  TuneOptions tune;
  tune.budget_s = 3;
  const TuneResult r = tune_pass(*backend, problem, Pass::forward, tune, &db);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.failed, 0);
  ASSERT_TRUE(r.default_ms);
  EXPECT_GT(*r.default_ms, 0.0);
  EXPECT_GE(r.measured, 1);
  EXPECT_EQ(r.default_config, backend->default_config(problem));
  // The winner is a canonical config of the sim's im2col table, stored under the sim key.
  EXPECT_TRUE(read_stored_config(*backend, problem, r.winner.to_string()).config) << r.winner.to_string();
  auto stored = db.find_winner(tuning_key(*backend, problem, Pass::forward));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->key.backend, Backend::sim);
  EXPECT_EQ(stored->config, r.winner.to_string());
}

}  // namespace
}  // namespace dcnjit::tuner
