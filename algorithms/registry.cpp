#include "algorithms/registry.h"

namespace dcnjit::algo {

#define DCNJIT_ALGORITHM(name) \
  std::unique_ptr<Algorithm> make_##name##_algorithm(const detail::DeviceTraits& traits, const RunOptions& options);
#include "algorithms/algorithm_list.h"
#undef DCNJIT_ALGORITHM

std::vector<std::unique_ptr<Algorithm>> make_algorithms(const detail::DeviceTraits& traits,
                                                        const RunOptions& options) {
  std::vector<std::unique_ptr<Algorithm>> algorithms;
#define DCNJIT_ALGORITHM(name) algorithms.push_back(make_##name##_algorithm(traits, options));
#include "algorithms/algorithm_list.h"
#undef DCNJIT_ALGORITHM
  return algorithms;
}

const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> names = {
#define DCNJIT_ALGORITHM(name) #name,
#include "algorithms/algorithm_list.h"
#undef DCNJIT_ALGORITHM
  };
  return names;
}

}  // namespace dcnjit::algo
