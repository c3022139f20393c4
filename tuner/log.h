// Warnings of the tuner (a database moved aside, opened read-only, a rejected row). They go to
// stderr prefixed "dcnjit: warning: " so a user sees why tuning results are not kept; the library
// never throws for a degraded cache that still lets it run.
#pragma once

#include <string>

namespace dcnjit::tuner {

void warn(const std::string& message);

}  // namespace dcnjit::tuner
