#include "tools/profile/alternatives.h"

#include <sstream>

namespace dcnjit::profile {
namespace {

std::vector<std::string> tokens(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

// Collects candidates, dropping the chosen config and repeats.
class CandidateList {
 public:
  explicit CandidateList(const Config& chosen) : chosen_(chosen) {}
  template <class Change>
  void add(Change change) {
    Config c = chosen_;
    change(c);
    if (c == chosen_) return;
    for (const auto& a : list_)
      if (a.config == c) return;
    list_.push_back({config_difference(chosen_, c), c});
  }
  std::vector<Alternative> take() { return std::move(list_); }

 private:
  Config chosen_;
  std::vector<Alternative> list_;
};

}  // namespace

std::string config_difference(const Config& reference, const Config& config) {
  const auto ref = tokens(reference.to_string()), cur = tokens(config.to_string());
  std::string diff;
  for (std::size_t i = 0; i < cur.size(); ++i) {
    if (i < ref.size() && ref[i] == cur[i]) continue;
    diff += (diff.empty() ? "" : " ") + cur[i];
  }
  return diff;
}

std::vector<Alternative> alternatives(Backend backend, const Problem& problem, const Config& chosen, Pass pass) {
  CandidateList list(chosen);
  const bool backward = pass == Pass::backward;

  // Images per column chunk: powers of two up to the batch, and the whole batch.
  for (int64_t step = 1; step < problem.N; step *= 2) list.add([&](Config& c) { c.im2col_step = int(step); });
  list.add([&](Config& c) { c.im2col_step = int(problem.N); });

  if (backward) list.add([](Config& c) { c.keep_columns = !c.keep_columns; });

  if (backend == Backend::cpu) {
    // Output pixels per im2col tile: cache-sized tiles vs the whole image (0).
    const int64_t pixels = problem.Ho() * problem.Wo();
    list.add([](Config& c) { c.cpu_pixel_tile = 0; });
    for (int tile : {128, 512, 2048})
      if (tile < pixels) list.add([&](Config& c) { c.cpu_pixel_tile = tile; });
    return list.take();
  }

  // sim and cuda run the generated kernels.
  if (backward) {
    list.add([](Config& c) { c.fused_backward = !c.fused_backward; });
    for (auto strategy : {AtomicStrategy::plain, AtomicStrategy::warp, AtomicStrategy::block})
      list.add([&](Config& c) { c.atomic = strategy; });
  }
  for (int threads : {128, 256, 512}) list.add([&](Config& c) { c.block_threads = threads; });
  for (int ept : {1, 2, 4}) list.add([&](Config& c) { c.elems_per_thread = ept; });
  return list.take();
}

}  // namespace dcnjit::profile
