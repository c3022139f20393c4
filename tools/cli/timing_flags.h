// The options `dcnjit bench` and `dcnjit profile` share: which backend and threads, the config to time
// (the tuning database's, or --config), and how many warm-up and timed runs.
#pragma once

#include <optional>
#include <string>

#include "dcnjit/engine.h"
#include "tools/cli/args.h"
#include "tools/profile/session.h"

namespace dcnjit::cli {

struct TimingFlags {
  EngineOptions options;                   // backend, threads; tuning = cache_only (time what a user runs)
  std::optional<std::string> config_text;  // --config
  profile::TimingOptions timing;           // --warmup, --repeats
};

// Takes --backend, --algorithm, --allow-tf32, --deterministic, --threads, --config, --repeats and --warmup.
TimingFlags take_timing_flags(Args& args);

}  // namespace dcnjit::cli
