// The portable tuning-cache file of `dcnjit cache export/import/merge`: JSON, one winner per line,
// sorted, without timestamps, so two exports of the same data are byte-identical and diff well.
//
//   {"format": "dcnjit-tuning-cache", "format_version": 1, "generator_version": "1",
//    "entries": [
//     {"problem": "N1 C4 ...", "layout": "NCHW", "pass": "forward", "backend": "cpu", "env": "...",
//      "config": "step=1 ...", "time_ms": 0.5, "default_config": "step=1 ...", "default_time_ms": 0.7}
//   ]}
//
// Like TensorRT's timing cache: a file from another generator version is refused (its configs mean
// other kernels); merge keeps the faster entry on a conflict and only takes entries measured on this
// device unless mixing devices is asked for.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/error.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {

struct CacheFile {
  std::string generator_version;
  std::vector<Winner> entries;
};

// This build's generator version, as written into and required from cache files.
std::string current_generator_version();

std::string to_json(const CacheFile& file);
// Strict: every field present and well-formed, problems and configs in canonical form. Throws
// Error(IoError) naming `source` (the file) and the entry at fault.
CacheFile parse_cache_json(const std::string& text, const std::string& source);

void write_cache_file(const std::string& path, const CacheFile& file);
CacheFile read_cache_file(const std::string& path);

struct MergeOptions {
  enum class OnConflict { keep_faster, take_file };
  OnConflict on_conflict = OnConflict::keep_faster;
  bool mix_devices = false;
  // This machine's env key for a backend, or nullopt when that backend is not available here. Only
  // consulted without mix_devices: an entry is taken when its env equals this.
  std::function<std::optional<std::string>(Backend)> local_environment;
};

struct MergeReport {
  int taken = 0;                // new keys, or conflicts the file's entry won
  int kept = 0;                 // conflicts the database's entry won
  int skipped_other_device = 0; // measured elsewhere, and mixing devices was not asked for
};

// Throws Error(CacheError) naming the file's and this build's versions when they differ.
MergeReport merge_into(TuningDb& db, const CacheFile& file, const MergeOptions& options);

}  // namespace dcnjit::tuner
