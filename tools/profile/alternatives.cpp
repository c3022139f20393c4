#include "tools/profile/alternatives.h"

namespace dcnjit::profile {

std::string config_difference(const Config& reference, const Config& config) {
  std::string diff;
  auto add = [&](const std::string& token) { diff += (diff.empty() ? "" : " ") + token; };
  if (config.algorithm != reference.algorithm) add(config.algorithm);
  for (const Knob& knob : config.knobs) {
    const std::string* before = reference.find(knob.name);
    if (!before || *before != knob.value) add(knob.name + "=" + knob.value);
  }
  return diff;
}

std::vector<Alternative> alternatives(const detail::BackendImpl& backend, const Problem& problem, const Config& chosen,
                                      Pass pass) {
  std::vector<Alternative> list;
  for (KnobChange& change : backend.knobs(chosen.algorithm).neighbours(problem, chosen, pass))
    list.push_back({change.label, std::move(change.config), std::move(change.why_not)});
  for (const std::string& algorithm : backend.usable_algorithms(problem)) {
    if (algorithm == chosen.algorithm) continue;
    const Config defaults = backend.knobs(algorithm).defaults(problem);
    list.push_back({config_difference(chosen, defaults), defaults, {}});
  }
  return list;
}

}  // namespace dcnjit::profile
