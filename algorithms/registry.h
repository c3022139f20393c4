// The registered algorithms (algorithms/algorithm_list.h), made for one device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/algorithm.h"

namespace dcnjit::algo {

// One instance of every registered algorithm for a device and the engine's options, in preference order.
std::vector<std::unique_ptr<Algorithm>> make_algorithms(const detail::DeviceTraits& traits,
                                                        const RunOptions& options = {});

// The registered names, in preference order ("im2col", ...).
const std::vector<std::string>& algorithm_names();

}  // namespace dcnjit::algo
