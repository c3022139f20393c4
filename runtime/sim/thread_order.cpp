#include "runtime/sim/thread_order.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <random>

#include "dcnjit/error.h"

namespace dcnjit::sim {

ThreadOrder ThreadOrder::parse(const std::string& text, const std::string& origin) {
  if (text == "in_order") return in_order();
  if (text == "reversed") return reversed();
  if (text == "random") return random(1);
  const std::string prefix = "random:";
  if (text.rfind(prefix, 0) == 0) {
    const char* begin = text.data() + prefix.size();
    const char* end = text.data() + text.size();
    uint64_t seed = 0;
    const auto [stop, error] = std::from_chars(begin, end, seed);
    if (error == std::errc() && stop == end && begin != end) return random(seed);
  }
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("{}: '{}' is not a thread order (in_order, reversed, random, random:<seed>)", origin, text));
}

ThreadOrder ThreadOrder::from_environment() {
  const char* text = std::getenv("DCNJIT_SIM_ORDER");
  if (!text || !*text) return in_order();
  return parse(text, "DCNJIT_SIM_ORDER");
}

std::string ThreadOrder::to_string() const {
  switch (kind) {
    case Kind::in_order: return "in_order";
    case Kind::reversed: return "reversed";
    case Kind::random: return fmt::format("random:{}", seed);
  }
  return "?";
}

void ThreadOrder::arrange(std::vector<unsigned>& ids, uint64_t block, uint64_t phase) const {
  switch (kind) {
    case Kind::in_order: return;
    case Kind::reversed: std::reverse(ids.begin(), ids.end()); return;
    case Kind::random: {
      // SplitMix-style mixing of (seed, block, phase): neighbouring blocks/phases get unrelated streams.
      uint64_t state = seed ^ (block * 0x9e3779b97f4a7c15ull) ^ (phase * 0xbf58476d1ce4e5b9ull);
      std::mt19937_64 generator(state);
      std::shuffle(ids.begin(), ids.end(), generator);
      return;
    }
  }
}

}  // namespace dcnjit::sim
