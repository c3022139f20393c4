// A stacked-bar chart of a profile, as a standalone SVG file a browser opens: one horizontal bar per
// config (chosen first, then the alternatives), one colored segment per phase, a legend, a ms axis
// with grid lines, and each bar's total. Hovering a segment shows its phase, ms and share.
#pragma once

#include <string>

#include "tools/profile/profiler.h"

namespace dcnjit::profile {

std::string format_svg(const ProfileReport& report);

// "a &lt; b": text and attribute values for XML.
std::string xml_escape(const std::string& text);

// A round axis step (1, 2 or 5 times a power of ten) giving about `ticks` intervals up to `max_value`.
double nice_tick_step(double max_value, int ticks);

}  // namespace dcnjit::profile
