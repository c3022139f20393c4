// Where the tuning database lives when EngineOptions::cache_path is empty:
// $DCNJIT_CACHE, else $XDG_CACHE_HOME/dcnjit/cache.sqlite, else ~/.cache/dcnjit/cache.sqlite.
#pragma once

#include <string>

namespace dcnjit::tuner {

// `configured` wins when non-empty. Does not create anything (TuningDb::open creates the directory).
std::string resolve_cache_path(const std::string& configured = {});

}  // namespace dcnjit::tuner
