#include "generator/config_space.h"

#include <fmt/format.h>

#include <algorithm>

#include "dcnjit/error.h"

namespace dcnjit::gen {

namespace {

const std::vector<int> kBlockThreads = {128, 256, 512};
const std::vector<int> kElemsPerThread = {1, 2, 4};
constexpr int kMaxTunedStep = 64;

long long column_elements_per_image(const Problem& problem) {
  return problem.C * problem.taps() * problem.Ho() * problem.Wo();
}

// Work items of the sampling kernels for a chunk of `images` images (templates/tap_geometry.cuh).
long long sampling_work_items(const Problem& problem, int images) {
  return images * problem.offset_groups * problem.taps() * problem.Ho() * problem.Wo();
}

template <typename T>
bool contains(const std::vector<T>& values, T value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

[[noreturn]] void reject(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, fmt::format("config: {} ({})", field, why));
}

}  // namespace

int default_im2col_step(const Problem& problem) {
  const long long per_image = std::max<long long>(1, column_elements_per_image(problem));
  const long long fitting = kColumnBudgetElements / per_image;
  return int(std::clamp<long long>(fitting, 1, problem.N));
}

int resolve_im2col_step(const Problem& problem, const Config& config) {
  return config.im2col_step > 0 ? config.im2col_step : default_im2col_step(problem);
}

Config default_kernel_config(const Problem& problem) {
  Config config;
  config.im2col_step = default_im2col_step(problem);
  config.block_threads = 256;
  config.elems_per_thread = 1;
  config.fused_backward = true;
  config.atomic = AtomicStrategy::plain;
  return config;
}

ConfigSpace config_space(const Problem& problem, Pass pass) {
  ConfigSpace space;
  // Powers of two up to N (and N itself), as long as the column buffer stays within 4x the
  // heuristic's budget, plus the heuristic's own choice.
  const long long per_image = std::max<long long>(1, column_elements_per_image(problem));
  const int max_step = int(std::min<long long>(problem.N, kMaxTunedStep));
  for (int step = 1; step <= max_step; step *= 2)
    if (step == 1 || step * per_image <= 4 * kColumnBudgetElements) space.im2col_steps.push_back(step);
  if (problem.N <= kMaxTunedStep && problem.N * per_image <= 4 * kColumnBudgetElements)
    space.im2col_steps.push_back(int(problem.N));
  space.im2col_steps.push_back(default_im2col_step(problem));
  std::sort(space.im2col_steps.begin(), space.im2col_steps.end());
  space.im2col_steps.erase(std::unique(space.im2col_steps.begin(), space.im2col_steps.end()),
                           space.im2col_steps.end());

  space.block_threads = kBlockThreads;
  space.elems_per_thread = kElemsPerThread;
  if (pass == Pass::backward) {
    space.fused_backward = {true, false};
    space.atomics = {AtomicStrategy::plain, AtomicStrategy::warp};
  } else {
    space.fused_backward = {true};
    space.atomics = {AtomicStrategy::plain};
  }
  return space;
}

std::vector<Config> enumerate_configs(const Problem& problem, Pass pass, const Config& base) {
  const ConfigSpace space = config_space(problem, pass);
  std::vector<Config> configs;
  for (int step : space.im2col_steps)
    for (int threads : space.block_threads)
      for (int ept : space.elems_per_thread) {
        if (ept > 1 && sampling_work_items(problem, step) < (long long)threads * ept) continue;
        for (bool fused : space.fused_backward)
          for (AtomicStrategy atomic : space.atomics) {
            Config config = base;
            config.im2col_step = step;
            config.block_threads = threads;
            config.elems_per_thread = ept;
            config.fused_backward = fused;
            config.atomic = atomic;
            config.keep_columns = false;
            configs.push_back(config);
          }
      }
  return configs;
}

void validate_kernel_config(const Problem& problem, const Config& config) {
  if (!contains(kBlockThreads, config.block_threads))
    reject(fmt::format("threads={}", config.block_threads), "expected one of 128, 256, 512");
  if (!contains(kElemsPerThread, config.elems_per_thread))
    reject(fmt::format("ept={}", config.elems_per_thread), "expected one of 1, 2, 4");
  if (config.atomic == AtomicStrategy::block)
    reject("atomic=block", "block-privatized atomics are not implemented by the generated kernels; use plain or warp");
  if (config.keep_columns)
    reject("cols=keep", "the generated backward recomputes the columns; use cols=recompute");
  if (config.im2col_step < 0 || config.im2col_step > problem.N)
    reject(fmt::format("step={}", config.im2col_step), fmt::format("expected 0 (heuristic) to N={}", problem.N));
}

}  // namespace dcnjit::gen
