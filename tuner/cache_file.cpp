#include "tuner/cache_file.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "dcnjit/error.h"
#include "dcnjit/problem.h"
#include "generator/version.h"
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

CacheFile parse_cache_json(const std::string& text, const std::string& source) {
  // SQLite's JSON functions are the parser: no hand-written JSON reader to get wrong.
  auto scratch = store::Connection::open(":memory:", store::Access::read_write);
  // Validity first, on its own: json_extract raises an SQL error on malformed text.
  auto valid = scratch.prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END");
  valid.bind(1, text);
  if (!valid.step() || valid.column_int64(0) != 1) malformed(source, "not valid JSON (an object is expected)");
  auto header = scratch.prepare(
      "SELECT json_extract(?1, '$.format'), json_extract(?1, '$.format_version'), "
      "json_extract(?1, '$.generator_version'), json_type(?1, '$.entries')");
  header.bind(1, text);
  header.step();
  if (header.column_text(0) != kFormat) malformed(source, fmt::format("\"format\" is not \"{}\"", kFormat));
  if (header.column_int64(1) != kFormatVersion)
    malformed(source, fmt::format("format_version {} is not supported (this build reads {})", header.column_text(1),
                                  kFormatVersion));
  if (header.is_null(2)) malformed(source, "\"generator_version\" is missing");
  if (header.column_text(3) != "array") malformed(source, "\"entries\" is not an array");
  CacheFile file;
  file.generator_version = header.column_text(2);

  auto rows = scratch.prepare(
      "SELECT key, json_type(value), json_extract(value, '$.problem'), json_extract(value, '$.layout'), "
      "json_extract(value, '$.pass'), json_extract(value, '$.backend'), json_extract(value, '$.env'), "
      "json_extract(value, '$.config'), json_type(value, '$.time_ms'), json_extract(value, '$.time_ms'), "
      "json_extract(value, '$.default_config'), json_type(value, '$.default_time_ms'), "
      "json_extract(value, '$.default_time_ms') FROM json_each(?1, '$.entries')");
  rows.bind(1, text);
  while (rows.step()) {
    const std::string where = fmt::format("entry {}", rows.column_int64(0));
    if (rows.column_text(1) != "object") malformed(source, where + " is not an object");
    for (int column : {2, 3, 4, 5, 6, 7, 10})
      if (rows.is_null(column)) malformed(source, where + " lacks a field (problem, layout, pass, backend, env, config, default_config)");
    try {
      Winner w;
      const Problem problem = Problem::parse(rows.column_text(2));
      problem.validate();
      w.key.problem = rows.column_text(2);
      // Keys must be canonical, or the same problem could live under two keys.
      if (problem.to_string() != w.key.problem)
        throw Error(ErrorCode::InvalidArgument, fmt::format("problem '{}' is not in canonical form '{}'",
                                                            w.key.problem, problem.to_string()));
      w.key.layout = rows.column_text(3);
      if (w.key.layout != layout_key(problem.layout))
        throw Error(ErrorCode::InvalidArgument, fmt::format("layout '{}' is not the problem's ({})", w.key.layout,
                                                            layout_key(problem.layout)));
      w.key.pass = parse_pass(rows.column_text(4));
      w.key.backend = parse_backend(rows.column_text(5));
      w.key.env = rows.column_text(6);
      // Configs are checked for form here (an algorithm, then knobs, as Config prints them); whether the
      // knobs suit the backend is checked when a row is used (tuner/config_space.h: read_stored_config).
      w.config = rows.column_text(7);
      const Config config = Config::parse(w.config);
      if (config.algorithm.empty() || config.to_string() != w.config)
        throw Error(ErrorCode::InvalidArgument, fmt::format("config '{}' is not in canonical form", w.config));
      const std::string time_type = rows.column_text(8);
      w.time_ms = rows.column_double(9);
      if ((time_type != "real" && time_type != "integer") || !(w.time_ms > 0) || !std::isfinite(w.time_ms))
        throw Error(ErrorCode::InvalidArgument, "time_ms must be a positive number");
      w.default_config = rows.column_text(10);
      const std::string default_type = rows.column_text(11);
      if (default_type == "real" || default_type == "integer") w.default_time_ms = rows.column_double(12);
      else if (default_type != "null" && !default_type.empty())
        throw Error(ErrorCode::InvalidArgument, "default_time_ms must be a number or null");
      file.entries.push_back(std::move(w));
    } catch (const Error& e) {
      if (e.code() == ErrorCode::IoError) throw;
      malformed(source, fmt::format("{}: {}", where, e.what()));
    }
  }
  return file;
}

void write_cache_file(const std::string& path, const CacheFile& file) {
  const std::string text = to_json(file);
  // Write a sibling and rename: an interrupted export never leaves a truncated file behind.
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(ErrorCode::IoError, fmt::format("cache file '{}': cannot be written", path));
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw Error(ErrorCode::IoError, fmt::format("cache file '{}': cannot be written", path));
  }
}

CacheFile read_cache_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::IoError, fmt::format("cache file '{}': cannot be read", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cache_json(text.str(), path);
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
  return report;
}

}  // namespace dcnjit::tuner
