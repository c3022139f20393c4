#include "tools/cli/timing_flags.h"

#include "tools/cli/problem_inputs.h"

namespace dcnjit::cli {

TimingFlags take_timing_flags(Args& args) {
  TimingFlags flags;
  flags.options.backend = take_backend(args);
  flags.options.algorithm = take_algorithm(args);
  flags.options.allow_tf32 = take_allow_tf32(args);
  flags.options.deterministic = take_deterministic(args);
  flags.options.tuning = TuningPolicy::cache_only;
  if (auto threads = args.take_int("threads", 0, 4096)) flags.options.threads = int(*threads);
  flags.config_text = args.take("config");
  if (auto repeats = args.take_int("repeats", 1, 100000)) flags.timing.repeats = int(*repeats);
  if (auto warmup = args.take_int("warmup", 0, 100000)) flags.timing.warmup = int(*warmup);
  return flags;
}

}  // namespace dcnjit::cli
