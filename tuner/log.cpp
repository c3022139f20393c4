#include "tuner/log.h"

#include <fmt/format.h>

#include <cstdio>

namespace dcnjit::tuner {

void warn(const std::string& message) { fmt::print(stderr, "dcnjit: warning: {}\n", message); }

}  // namespace dcnjit::tuner
