// A Plan built from the tuning database (what Engine::plan does under cache_only / on_first_use) runs
// forward with the forward winner and backward with the backward winner: the fake backend records
// the config each call reached it with.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dcnjit/engine.h"
#include "tests/tuner/fake_backend.h"
#include "tests/support/scratch_directory.h"
#include "tuner/autotuner.h"
#include "tuner/selector.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

using testing::FakeBackend;
using dcnjit::testing::ScratchDirectory;

const Problem kProblem = Problem::parse("N2 C4 H8 W8 Co4 k3x3 p1x1");

// Host tensors of kProblem (the fake backend neither reads nor writes them; Plan validates them).
struct HostTensors {
  std::vector<float> x = std::vector<float>(2 * 4 * 8 * 8), offset = std::vector<float>(2 * 18 * 8 * 8),
                     weight = std::vector<float>(4 * 4 * 3 * 3), y = std::vector<float>(2 * 4 * 8 * 8),
                     grad_y = y, grad_x = x;

  static TensorRef ref(std::vector<float>& v, std::initializer_list<int64_t> shape) {
    return TensorRef::contiguous(v.data(), DType::f32, Device::cpu, shape);
  }
  ForwardArgs forward_args() {
    ForwardArgs a;
    a.x = ref(x, {2, 4, 8, 8});
    a.offset = ref(offset, {2, 18, 8, 8});
    a.weight = ref(weight, {4, 4, 3, 3});
    a.y = ref(y, {2, 4, 8, 8});
    return a;
  }
  BackwardArgs backward_args() {
    BackwardArgs a;
    a.x = ref(x, {2, 4, 8, 8});
    a.offset = ref(offset, {2, 18, 8, 8});
    a.weight = ref(weight, {4, 4, 3, 3});
    a.grad_y = ref(grad_y, {2, 4, 8, 8});
    a.grad_x = ref(grad_x, {2, 4, 8, 8});
    return a;
  }
};

TEST(PlanFromDatabase, ForwardRunsTheForwardWinnerAndBackwardTheBackwardWinner) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  auto backend = std::make_shared<FakeBackend>();
  const Config forward_winner = Config::parse("im2col step=2 tile=256");
  const Config backward_winner = Config::parse("im2col step=1 tile=1024");
  {
    TuningDb db = TuningDb::open(path);
    db.offer_winner(Winner{tuning_key(*backend, kProblem, Pass::forward), forward_winner.to_string(), 1.0, "", {}, 0});
    db.offer_winner(
        Winner{tuning_key(*backend, kProblem, Pass::backward), backward_winner.to_string(), 1.0, "", {}, 0});
  }
  EngineOptions options;
  options.cache_path = path;
  options.tuning = TuningPolicy::cache_only;
  const PlanConfigs configs = make_config_selector(options)->select(*backend, kProblem);
  const Plan plan(kProblem, configs.forward, configs.backward, backend);
  EXPECT_EQ(plan.config(), forward_winner);
  EXPECT_EQ(plan.backward_config(), backward_winner);

  HostTensors tensors;
  plan.forward(tensors.forward_args());
  EXPECT_EQ(backend->last_forward_config(), forward_winner);
  EXPECT_FALSE(backend->last_backward_config());
  plan.backward(tensors.backward_args());
  EXPECT_EQ(backend->last_backward_config(), backward_winner);
  EXPECT_EQ(backend->last_forward_config(), forward_winner);
  // One caller workspace serves both directions: the fake needs 64 bytes per image of im2col step, so
  // the forward config's (step 2) is the larger.
  EXPECT_EQ(plan.workspace_size(), 128u);
}

TEST(PlanFromDatabase, OneConfigPlanRunsItInBothDirections) {
  auto backend = std::make_shared<FakeBackend>();
  const Config config = Config::parse("im2col step=2 tile=4096");
  const Plan plan(kProblem, config, backend);
  EXPECT_EQ(plan.backward_config(), config);
  HostTensors tensors;
  plan.forward(tensors.forward_args());
  plan.backward(tensors.backward_args());
  EXPECT_EQ(backend->last_forward_config(), config);
  EXPECT_EQ(backend->last_backward_config(), config);
}

}  // namespace
}  // namespace dcnjit::tuner
