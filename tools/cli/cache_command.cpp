// dcnjit cache: inspect and move the tuning database (path, list, export, import, merge, clear).
#include <fmt/format.h>

#include <map>

#include "runtime/backend.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tuner/cache_file.h"
#include "tuner/cache_path.h"
#include "tuner/tuning_db.h"

namespace dcnjit::cli {
namespace {

constexpr const char* kUsage = R"(usage: dcnjit cache <action> [--cache PATH]

  path                  print the tuning database's path
  list                  one line per winner: problem (the syntax of `dcnjit tune --problems`), pass,
                        backend, config, time in ms
  export FILE           write every winner to FILE (JSON, portable between machines); a row that an
                        import would refuse (hand-edited, or from an older build) is left out and named
  import FILE           restore an export: all its entries, replacing conflicting ones
  merge FILE            add an export's entries measured on this machine; on a conflict the faster
                        entry stays
    --mix-devices       also take entries measured on other devices
  clear                 remove all winners and trials

import and merge are one transaction: all entries or none. A bad entry (malformed, or a problem or
config this build does not accept) refuses the whole file, naming the entry by its index:
    --skip-invalid      import the other entries instead, listing the bad ones
Export files of another generator version are refused: their configs describe other kernels.
  --cache PATH          tuning database (default $DCNJIT_CACHE, $XDG_CACHE_HOME/dcnjit/cache.sqlite,
                        ~/.cache/dcnjit/cache.sqlite))";

std::string take_file_operand(std::vector<std::string>& raw, const char* action) {
  if (raw.empty() || raw.front().rfind("--", 0) == 0) throw UsageError(fmt::format("cache {} needs a FILE", action));
  std::string file = raw.front();
  raw.erase(raw.begin());
  return file;
}

void list(tuner::TuningDb& db) {
  const auto winners = db.winners();
  std::size_t problem_width = 7;
  for (const auto& w : winners) problem_width = std::max(problem_width, w.key.problem.size());
  for (const auto& w : winners) {
    fmt::print("{:<{}}  {:<20}  {:<4}  {}  {:.4f}\n", w.key.problem, problem_width, to_string(w.key.pass),
               to_string(w.key.backend), w.config, w.time_ms);
  }
}

// This machine's env key per backend, created once per backend; nullopt where it is not available.
std::optional<std::string> local_environment(Backend backend) {
  static std::map<Backend, std::optional<std::string>> known;
  if (auto it = known.find(backend); it != known.end()) return it->second;
  std::optional<std::string> env;
  try {
    EngineOptions options;
    options.backend = backend;
    env = detail::make_backend(options)->environment();
  } catch (const Error&) {
    // No GPU, or the backend is not built: entries for it cannot be from this machine.
  }
  known.emplace(backend, env);
  return env;
}

int run_cache(std::vector<std::string>& raw) {
  if (raw.empty() || raw.front().rfind("--", 0) == 0)
    throw UsageError("cache needs an action: path, list, export, import, merge or clear");
  const std::string action = raw.front();
  raw.erase(raw.begin());
  std::string file;
  if (action == "export" || action == "import" || action == "merge") file = take_file_operand(raw, action.c_str());
  Args args(raw);
  const std::string path = tuner::resolve_cache_path(args.take_or("cache", ""));
  const bool mix_devices = action == "merge" && args.take_flag("mix-devices");
  const bool skip_invalid = (action == "import" || action == "merge") && args.take_flag("skip-invalid");
  args.finish();

  if (action == "path") {
    fmt::print("{}\n", path);
    return 0;
  }
  if (action == "list" || action == "export") {
    tuner::TuningDb db = tuner::TuningDb::open(path, tuner::TuningDb::Mode::read_only);
    if (action == "list") {
      list(db);
    } else {
      const tuner::CacheFile contents = tuner::exportable(db.winners());
      tuner::write_cache_file(file, contents);
      fmt::print(stderr, "exported {} entries to {}\n", contents.entries.size(), file);
      for (const tuner::RejectedEntry& row : contents.rejected)
        fmt::print(stderr, "left out row {} (an import would refuse it): {}\n", row.index, row.reason);
    }
    return 0;
  }
  if (action == "clear") {
    tuner::TuningDb db = tuner::TuningDb::open(path);
    db.clear();
    return 0;
  }
  if (action == "import" || action == "merge") {
    const tuner::CacheFile contents =
        tuner::read_cache_file(file, skip_invalid ? tuner::BadEntries::skip : tuner::BadEntries::refuse);
    tuner::TuningDb db = tuner::TuningDb::open(path);
    tuner::MergeOptions options;
    options.on_conflict = action == "import" ? tuner::MergeOptions::OnConflict::take_file
                                             : tuner::MergeOptions::OnConflict::keep_faster;
    options.mix_devices = action == "import" || mix_devices;
    options.local_environment = local_environment;
    const auto report = tuner::merge_into(db, contents, options);
    fmt::print("{}: {} taken, {} kept (faster already), {} skipped (other devices{}){}\n", file, report.taken,
               report.kept, report.skipped_other_device,
               report.skipped_other_device ? "; --mix-devices takes them" : "",
               contents.rejected.empty() ? "" : fmt::format(", {} invalid skipped", contents.rejected.size()));
    for (const tuner::RejectedEntry& entry : contents.rejected)
      fmt::print("skipped entry {}: {}\n", entry.index, entry.reason);
    return 0;
  }
  throw UsageError(fmt::format("cache: unknown action '{}' (path, list, export, import, merge, clear)", action));
}

}  // namespace

DCNJIT_COMMAND(Command{"cache", "show, export, import, merge or clear the tuning database", kUsage, run_cache});

}  // namespace dcnjit::cli
