#include "tuner/cache_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "dcnjit/error.h"
#include "dcnjit/problem.h"
#include "generator/version.h"
#include "core/file_io.h"
#include "runtime/store/connection.h"
#include "core/json_writer.h"

namespace dcnjit::tuner {

namespace {

constexpr const char* kFormat = "dcnjit-tuning-cache";
constexpr int kFormatVersion = 1;

[[noreturn]] void malformed(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::IoError, fmt::format("cache file '{}': {}", source, what));
}

}  // namespace

std::string current_generator_version() { return std::to_string(gen::GENERATOR_VERSION); }

std::string to_json(const CacheFile& file) {
  std::string out = fmt::format("{{\"format\": {}, \"format_version\": {}, \"generator_version\": {},\n \"entries\": [",
                                json_string(kFormat), kFormatVersion, json_string(file.generator_version));
  for (std::size_t i = 0; i < file.entries.size(); ++i) {
    const Winner& w = file.entries[i];
    out += fmt::format(
        "{}\n  {{\"problem\": {}, \"layout\": {}, \"pass\": {}, \"backend\": {}, \"env\": {}, \"config\": {}, "
        "\"time_ms\": {}, \"default_config\": {}, \"default_time_ms\": {}}}",
        i ? "," : "", json_string(w.key.problem), json_string(w.key.layout), json_string(to_string(w.key.pass)),
        json_string(to_string(w.key.backend)), json_string(w.key.env), json_string(w.config), json_number(w.time_ms),
        json_string(w.default_config), json_number(w.default_time_ms));
  }
  return out + "\n]}\n";
}

std::string portability_problem(const Winner& w) {
  try {
    const Problem problem = Problem::parse(w.key.problem);
    problem.validate();
    // Keys must be canonical, or the same problem could live under two keys.
    if (problem.to_string() != w.key.problem)
      return fmt::format("problem '{}' is not in canonical form '{}'", w.key.problem, problem.to_string());
    if (w.key.layout != layout_key(problem.layout))
      return fmt::format("layout '{}' is not the problem's ({})", w.key.layout, layout_key(problem.layout));
    // Configs are checked for form here (an algorithm, then knobs, as Config prints them); whether the
    // knobs suit the backend is checked when a row is used (tuner/config_space.h: read_stored_config).
    const Config config = Config::parse(w.config);
    if (config.algorithm.empty() || config.to_string() != w.config)
      return fmt::format("config '{}' is not in canonical form", w.config);
  } catch (const Error& e) {
    return e.what();
  }
  if (!(w.time_ms > 0) || !std::isfinite(w.time_ms))
    return fmt::format("time_ms {} is not a positive number", w.time_ms);
  if (w.default_time_ms && !std::isfinite(*w.default_time_ms))
    return fmt::format("default_time_ms {} is not a number", *w.default_time_ms);
  return {};
}

CacheFile exportable(const std::vector<Winner>& winners) {
  CacheFile file{current_generator_version(), {}, {}};
  for (std::size_t i = 0; i < winners.size(); ++i) {
    if (std::string problem = portability_problem(winners[i]); !problem.empty())
      file.rejected.push_back({i, std::move(problem)});
    else
      file.entries.push_back(winners[i]);
  }
  return file;
}

namespace {

// The bad entries as one message: the first few by index, and how many in all.
std::string rejected_text(const std::vector<RejectedEntry>& rejected) {
  constexpr std::size_t kShown = 5;
  std::string text;
  for (std::size_t i = 0; i < std::min(rejected.size(), kShown); ++i)
    text += fmt::format("{}entry {}: {}", i ? "; " : "", rejected[i].index, rejected[i].reason);
  if (rejected.size() > kShown) text += fmt::format("; and {} more", rejected.size() - kShown);
  return text;
}

}  // namespace

CacheFile parse_cache_json(const std::string& text, const std::string& source, BadEntries bad) {
  // SQLite's JSON functions are the parser: no hand-written JSON reader to get wrong.
  auto scratch = store::Connection::open(":memory:", store::Access::read_write);
  // Validity first, on its own: json_extract raises an SQL error on malformed text.
  auto valid = scratch.prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END");
  valid.bind(1, text);
  if (!valid.step() || valid.column_int64(0) != 1) malformed(source, "not valid JSON (an object is expected)");
  auto header = scratch.prepare(
      "SELECT json_extract(?1, '$.format'), json_type(?1, '$.format_version'), json_extract(?1, '$.format_version'), "
      "json_type(?1, '$.generator_version'), json_extract(?1, '$.generator_version'), json_type(?1, '$.entries'), "
      "json_type(?1, '$.format')");
  header.bind(1, text);
  header.step();
  if (header.column_text(6) != "text" || header.column_text(0) != kFormat)
    malformed(source, fmt::format("\"format\" is not \"{}\"", kFormat));
  // Exactly what to_json() writes: the integer 1, not "1" or 1.9.
  if (header.is_null(2)) malformed(source, "\"format_version\" is missing");
  if (header.column_text(1) != "integer")
    malformed(source, fmt::format("format_version {} has JSON type {}, not the integer {}", header.column_text(2),
                                  header.column_text(1), kFormatVersion));
  if (header.column_int64(2) != kFormatVersion)
    malformed(source, fmt::format("format_version {} is not supported (this build reads {})", header.column_text(2),
                                  kFormatVersion));
  if (header.column_text(3) != "text")
    malformed(source, header.is_null(4) ? "\"generator_version\" is missing" : "\"generator_version\" is not a string");
  if (header.column_text(5) != "array") malformed(source, "\"entries\" is not an array");
  CacheFile file;
  file.generator_version = header.column_text(4);

  auto rows = scratch.prepare(
      "SELECT key, json_type(value), json_extract(value, '$.problem'), json_extract(value, '$.layout'), "
      "json_extract(value, '$.pass'), json_extract(value, '$.backend'), json_extract(value, '$.env'), "
      "json_extract(value, '$.config'), json_type(value, '$.time_ms'), json_extract(value, '$.time_ms'), "
      "json_extract(value, '$.default_config'), json_type(value, '$.default_time_ms'), "
      "json_extract(value, '$.default_time_ms'), json_type(value, '$.problem'), json_type(value, '$.layout'), "
      "json_type(value, '$.pass'), json_type(value, '$.backend'), json_type(value, '$.env'), "
      "json_type(value, '$.config'), json_type(value, '$.default_config') FROM json_each(?1, '$.entries')");
  rows.bind(1, text);
  constexpr const char* kTextFields[] = {"problem", "layout", "pass", "backend", "env", "config", "default_config"};
  constexpr int kTextTypeColumns[] = {13, 14, 15, 16, 17, 18, 19};
  while (rows.step()) {
    const std::size_t index = std::size_t(rows.column_int64(0));
    std::string why;
    Winner w;
    if (rows.column_text(1) != "object") why = "not an object";
    for (std::size_t f = 0; why.empty() && f < std::size(kTextFields); ++f)
      if (rows.column_text(kTextTypeColumns[f]) != "text")
        why = fmt::format("\"{}\" is {}", kTextFields[f],
                          rows.is_null(kTextTypeColumns[f]) ? "missing" : "not a string");
    if (why.empty()) {
      try {
        w.key.problem = rows.column_text(2);
        w.key.layout = rows.column_text(3);
        w.key.pass = parse_pass(rows.column_text(4));
        w.key.backend = parse_backend(rows.column_text(5));
        w.key.env = rows.column_text(6);
        w.config = rows.column_text(7);
        const std::string time_type = rows.column_text(8);
        if (time_type != "real" && time_type != "integer")
          throw Error(ErrorCode::InvalidArgument, "time_ms must be a number");
        w.time_ms = rows.column_double(9);
        w.default_config = rows.column_text(10);
        const std::string default_type = rows.column_text(11);
        if (default_type == "real" || default_type == "integer") w.default_time_ms = rows.column_double(12);
        else if (default_type != "null")
          throw Error(ErrorCode::InvalidArgument, "default_time_ms must be a number or null");
        why = portability_problem(w);
      } catch (const Error& e) {
        why = e.what();
      }
    }
    if (why.empty()) file.entries.push_back(std::move(w));
    else file.rejected.push_back({index, std::move(why)});
  }
  if (bad == BadEntries::refuse && !file.rejected.empty())
    malformed(source, fmt::format("{} bad entr{} ({}); nothing was imported (--skip-invalid imports the others)",
                                  file.rejected.size(), file.rejected.size() == 1 ? "y" : "ies",
                                  rejected_text(file.rejected)));
  return file;
}

void write_cache_file(const std::string& path, const CacheFile& file) {
  const std::string text = to_json(file);
  // Write a sibling and rename: an interrupted export never leaves a truncated file behind.
  const std::string partial = path + ".partial";
  {
    detail::OutputFile out = detail::open_output_file(partial, "cache file");
    if (std::fwrite(text.data(), 1, text.size(), out.get()) != text.size() || std::fclose(out.release()) != 0)
      throw Error(ErrorCode::IoError, fmt::format("cache file '{}': cannot be written", path));
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw Error(ErrorCode::IoError, fmt::format("cache file '{}': cannot be written", path));
  }
}

CacheFile read_cache_file(const std::string& path, BadEntries bad) {
  // A regular file of at most 1 GiB (millions of entries): a FIFO or a device would hang.
  return parse_cache_json(detail::read_regular_file(path, std::size_t(1) << 30, "cache file"), path, bad);
}

MergeReport merge_into(TuningDb& db, const CacheFile& file, const MergeOptions& options) {
  if (file.generator_version != current_generator_version()) {
    throw Error(ErrorCode::CacheError,
                fmt::format("cache file was written for generator version {}, this build is version {}: its configs "
                            "describe other kernels, so it is refused",
                            file.generator_version, current_generator_version()));
  }
  if (!db.writable()) throw Error(ErrorCode::CacheError, fmt::format("tuning database '{}' is read-only", db.path()));
  MergeReport report;
  db.in_one_transaction([&] {
    for (const Winner& entry : file.entries) {
      if (!options.mix_devices) {
        const auto local = options.local_environment ? options.local_environment(entry.key.backend) : std::nullopt;
        if (!local || *local != entry.key.env) {
          ++report.skipped_other_device;
          continue;
        }
      }
      if (options.on_conflict == MergeOptions::OnConflict::take_file) {
        db.replace_winner(entry);
        ++report.taken;
      } else if (db.offer_winner(entry)) {
        ++report.taken;
      } else {
        ++report.kept;
      }
    }
  });
  return report;
}

}  // namespace dcnjit::tuner
