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
//
// What export writes, import reads, exactly: both sides check an entry with portability_problem(), so a
// row the importer would refuse (a hand-edited time of Inf, a problem this build no longer accepts) is
// left out of an export and reported instead of spoiling the file. An import is one transaction. A bad
// entry in a file is reported by its index; the import is then refused, or the entry skipped when the
// user asks for that.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/error.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {

// An entry left out: its index (in the file, or in the database's export order) and why.
struct RejectedEntry {
  std::size_t index = 0;
  std::string reason;
};

struct CacheFile {
  std::string generator_version;
  std::vector<Winner> entries;
  std::vector<RejectedEntry> rejected = {};  // bad entries that were skipped (BadEntries::skip)
};

// Why `winner` cannot be carried by a cache file ("" when it can): a problem or config that is not
// canonical or not valid, a layout key other than the problem's, a time that is not a positive finite
// number, a default time that is not finite.
std::string portability_problem(const Winner& winner);

// The winners as a cache file of this generator version; rows portability_problem() refuses go to
// `rejected` (index = position in `winners`).
CacheFile exportable(const std::vector<Winner>& winners);

// This build's generator version, as written into and required from cache files.
std::string current_generator_version();

std::string to_json(const CacheFile& file);
// What to do with an entry that is malformed or fails portability_problem().
enum class BadEntries {
  refuse,  // Error(IoError) naming `source` and every bad entry by index (the first ones)
  skip,    // leave it out, listed in CacheFile::rejected
};

// Strict: the header exactly as to_json() writes it (format_version the integer 1, generator_version a
// string), every field of an entry present with its JSON type, problems and configs in canonical form.
// A bad header is Error(IoError) naming `source`; bad entries as `bad` says.
CacheFile parse_cache_json(const std::string& text, const std::string& source, BadEntries bad = BadEntries::refuse);

void write_cache_file(const std::string& path, const CacheFile& file);
CacheFile read_cache_file(const std::string& path, BadEntries bad = BadEntries::refuse);

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

// One transaction: every entry is stored, or none (an error, or the process killed midway). Throws
// Error(CacheError) naming the file's and this build's versions when they differ.
MergeReport merge_into(TuningDb& db, const CacheFile& file, const MergeOptions& options);

}  // namespace dcnjit::tuner
