// Timing one pass of one problem under one config, the way docs/architecture.md (caches and keys) describes: random non-zero
// inputs (offsets in a realistic range), a warm-up run (it also compiles and catches launch errors),
// the median of repeats, and rotating input sets so a repeat does not find the previous one's data
// in cache. Runs through BackendImpl::forward/backward, the same path Plan takes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tuner/pass.h"

namespace dcnjit::tuner {

// Random inputs and outputs of one problem in the backend's memory; one or more sets to rotate.
class PassInputs {
 public:
  // Two sets when one set is small enough that a repeat could hit cache; one set otherwise (a set
  // far beyond any last-level cache gains nothing from rotation and would only double memory).
  PassInputs(detail::BackendImpl& backend, const Problem& problem, uint64_t seed = 0x5eed);
  ~PassInputs();
  PassInputs(const PassInputs&) = delete;
  PassInputs& operator=(const PassInputs&) = delete;

  int sets() const { return int(sets_.size()); }
  // Runs `pass` once on input set `set` with `config`; `workspace` may be null.
  void run(Pass pass, const Config& config, int set, void* workspace, std::size_t workspace_bytes);

 private:
  struct Buffer;
  struct Set;
  void* upload_random(const char* name, std::size_t elements, float low, float high, bool signed_values,
                      uint64_t seed);

  detail::BackendImpl& backend_;
  Problem problem_;
  std::vector<std::unique_ptr<Set>> sets_;
  std::vector<void*> allocations_;
};

struct MeasureOptions {
  double max_seconds = 1.0;  // time for the timed repeats of this config (the warm-up is extra)
  int min_repeats = 3;
  int max_repeats = 25;
};

struct Measurement {
  bool ok = false;
  double median_ms = 0;
  int repeats = 0;
  std::string error;  // when !ok: the Error's message (compile log, launch failure, ...)
  bool device_lost = false;  // the failure was Error(DeviceLost): nothing more can run on this device
};

// Never throws for a config that fails to compile, launch or run: that is a failed measurement (one
// that faulted the device says so in device_lost).
Measurement measure(detail::BackendImpl& backend, PassInputs& inputs, const Problem& problem, Pass pass,
                    const Config& config, const MeasureOptions& options);

}  // namespace dcnjit::tuner
