#include "tuner/config_space.h"

#include <algorithm>

#include "generator/config_space.h"

namespace dcnjit::tuner {

namespace {

// im2col steps: powers of two up to N, plus N itself (one chunk) and the default.
std::vector<int> step_values(const Problem& problem, int default_step) {
  std::vector<int> steps;
  for (int64_t s = 1; s < problem.N && s <= 256; s *= 2) steps.push_back(int(s));
  steps.push_back(int(std::min<int64_t>(problem.N, 1 << 20)));
  steps.push_back(default_step);
  return steps;
}

// The cpu backend's knobs.
std::vector<Config> cpu_product(const Problem& problem, const Config& base) {
  const std::vector<int> steps = step_values(problem, base.im2col_step);
  // 0 = whole image per im2col tile; smaller tiles keep the column buffer in cache.
  const std::vector<int> tiles{0, 256, 1024, 4096, base.cpu_pixel_tile};
  std::vector<Config> product;
  for (int step : steps) {
    for (int tile : tiles) {
      Config c = base;
      c.im2col_step = step;
      c.cpu_pixel_tile = tile;
      if (std::find(product.begin(), product.end(), c) == product.end()) product.push_back(c);
    }
  }
  return product;
}

// Generated kernels (cuda, sim): the generator's space for the pass (steps, threads, elements per
// thread, fused/split, atomics), times the GEMM algorithm for the passes whose time a GEMM dominates.
std::vector<Config> kernel_product(Backend backend, const Problem& problem, Pass pass, const Config& base) {
  const gen::Pass generator_pass = pass == Pass::forward ? gen::Pass::forward : gen::Pass::backward;
  std::vector<Config> kernels = gen::enumerate_configs(problem, generator_pass, base);
  // The passes that run a GEMM whose algorithm matters: the full backward runs two (dcol = W^T dY
  // and grad_weight = dY col^T) under the one gemm_algo of its config. backward_data and
  // backward_offset_mask run only the first, a small share of their time next to the scatter.
  const bool gemm_bound = pass == Pass::forward || pass == Pass::backward || pass == Pass::backward_weight;
  // The cuBLASLt heuristic's top candidates; beyond the 4th they are rarely competitive. The sim
  // backend's GEMM has a single algorithm.
  const int algos = backend == Backend::cuda && gemm_bound ? 4 : 1;
  std::vector<Config> product;
  for (const Config& k : kernels) {
    for (int algo = 0; algo < algos; ++algo) {
      Config c = k;
      c.gemm_algo = algo;
      product.push_back(c);
    }
  }
  return product;
}


int distance(const Config& a, const Config& b) {
  return (a.im2col_step != b.im2col_step) + (a.block_threads != b.block_threads) +
         (a.elems_per_thread != b.elems_per_thread) + (a.fused_backward != b.fused_backward) +
         (a.atomic != b.atomic) + (a.gemm_algo != b.gemm_algo) + (a.keep_columns != b.keep_columns) +
         (a.cpu_pixel_tile != b.cpu_pixel_tile);
}

}  // namespace

std::vector<Config> candidate_configs(const detail::BackendImpl& backend, const Problem& problem, Pass pass) {
  const Config base = backend.default_config(problem);
  std::vector<Config> product =
      backend.kind() == Backend::cpu ? cpu_product(problem, base) : kernel_product(backend.kind(), problem, pass, base);
  // Stable: among equally distant candidates the knob order above decides, so runs are reproducible.
  std::stable_sort(product.begin(), product.end(),
                   [&](const Config& a, const Config& b) { return distance(a, base) < distance(b, base); });
  std::vector<Config> candidates;
  for (const Config& c : product)
    if (backend_accepts(backend, problem, c)) candidates.push_back(c);
  // The default is always first, even if validate_config is stricter than the heuristic (then it is
  // timed, fails, and is recorded as such).
  if (candidates.empty() || !(candidates.front() == base)) {
    std::erase(candidates, base);
    candidates.insert(candidates.begin(), base);
  }
  return candidates;
}

bool in_config_space(const detail::BackendImpl& backend, const Problem& problem, Pass pass, const Config& config) {
  if (!backend_accepts(backend, problem, config)) return false;
  const auto candidates = candidate_configs(backend, problem, pass);
  return std::find(candidates.begin(), candidates.end(), config) != candidates.end();
}

bool backend_accepts(const detail::BackendImpl& backend, const Problem& problem, const Config& config) {
  try {
    backend.validate_config(problem, config);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace dcnjit::tuner
