// EngineOptions: what an Engine runs on and how it chooses configs.
#pragma once

#include <string>

#include "dcnjit/config.h"

namespace dcnjit {

enum class TuningPolicy {
  off,           // heuristic default config; never touches the tuning database
  on_first_use,  // look up the database; on a miss tune, persist, then run
  cache_only,    // use the database when it has an entry, else the heuristic; never tune
};
const char* to_string(TuningPolicy policy);

struct EngineOptions {
  Backend backend = Backend::cpu;
  int threads = 0;                    // CPU threads (cpu backend, sim blocks); 0 = all cores
  std::string cache_path;             // "" = $DCNJIT_CACHE, $XDG_CACHE_HOME/dcnjit/cache.sqlite, ~/.cache/...
  TuningPolicy tuning = TuningPolicy::off;
  double tune_budget_s = 20.0;        // wall-clock budget per problem and pass when tuning
  int device = 0;                     // CUDA device ordinal
  std::string algorithm;              // "" = any (tuning compares every algorithm); else only this one
  // f32 GEMMs may round their operands to TF32 on tensor cores (cuda; faster, ~1e-3 relative error), like
  // PyTorch's torch.backends.cuda.matmul.allow_tf32. Off: f32 stays exact to f32 rounding.
  bool allow_tf32 = false;
  // Bit-identical results from run to run (and, on sim, under every thread order): no floating-point
  // atomics whose order can vary; the algorithms use fixed-order reductions instead, at some cost
  // (docs/perf.md). Like torch.use_deterministic_algorithms. The cpu backend is deterministic always.
  bool deterministic = false;
};

}  // namespace dcnjit
