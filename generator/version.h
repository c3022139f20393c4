// The generator's version: part of every binary-cache key and of the tuning database's environment
// key. Bump it whenever generated source or the meaning of a Config changes, so cached binaries and
// tuned configs of an older generator are never reused.
#pragma once

namespace dcnjit::gen {

inline constexpr int GENERATOR_VERSION = 6;

}  // namespace dcnjit::gen
