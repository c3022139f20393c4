#include "tuner/config_space.h"

#include <algorithm>

namespace dcnjit::tuner {

Direction direction_of(Pass pass) { return pass == Pass::forward ? Direction::forward : Direction::backward; }

std::vector<Config> candidate_configs(const detail::BackendImpl& backend, const Problem& problem, Pass pass) {
  const Direction direction = direction_of(pass);
  std::vector<std::vector<Config>> spaces;
  for (const std::string& algorithm : backend.usable_algorithms(problem))
    spaces.push_back(backend.knobs(algorithm).enumerate(problem, direction));
  // Round-robin over the algorithms: each space is already ordered nearest-first, and the first space is
  // the default algorithm's, so the backend's default config leads.
  std::vector<Config> candidates;
  for (std::size_t rank = 0;; ++rank) {
    bool any = false;
    for (const auto& space : spaces) {
      if (rank >= space.size()) continue;
      candidates.push_back(space[rank]);
      any = true;
    }
    if (!any) break;
  }
  return candidates;
}

StoredConfig read_stored_config(const detail::BackendImpl& backend, const Problem& problem, const std::string& text) {
  try {
    const Config parsed = Config::parse(text);
    if (parsed.algorithm.empty()) return {std::nullopt, "no algorithm named"};
    const Config resolved = backend.resolve(problem, parsed);
    if (!(resolved == parsed)) return {std::nullopt, "not canonical (expected '" + resolved.to_string() + "')"};
    return {resolved, {}};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

}  // namespace dcnjit::tuner
