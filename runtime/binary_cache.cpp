#include "runtime/binary_cache.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include "dcnjit/error.h"
#include "generator/template_library.h"
#include "generator/version.h"
#include "core/file_trust.h"
#include "runtime/store/connection.h"
#include "runtime/store/migrations.h"
#include "runtime/store/statement.h"
#include "runtime/store/store_error.h"
#include "runtime/store/transaction.h"

namespace dcnjit::detail {

namespace {

constexpr store::Migration kMigrations[] = {
    {1, "binaries table",
     "CREATE TABLE binaries ("
     "  key TEXT PRIMARY KEY,"            // binary_key(): sha256 hex
     "  name TEXT NOT NULL,"              // kernel name, informational
     "  format TEXT NOT NULL,"            // cubin | ptx | host_so
     "  target TEXT NOT NULL,"
     "  entry TEXT NOT NULL,"
     "  binary BLOB NOT NULL,"
     "  log TEXT NOT NULL,"
     "  generator_version INTEGER NOT NULL,"
     "  created_at INTEGER NOT NULL"      // unix seconds
     ");"},
    {2, "digests of files written outside the cache",
     "CREATE TABLE file_digests ("
     "  name TEXT PRIMARY KEY,"           // e.g. the path of a precompiled header
     "  sha256 TEXT NOT NULL,"            // 64 lowercase hex digits
     "  created_at INTEGER NOT NULL"
     ");"},
};

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

// Appends `field` with its length, so that no two different field lists hash the same text.
void append_field(std::string& text, std::string_view field) {
  text += std::to_string(field.size());
  text += ':';
  text.append(field);
  text += '\n';
}

}  // namespace

const char* to_string(BinaryFormat format) {
  switch (format) {
    case BinaryFormat::cubin: return "cubin";
    case BinaryFormat::ptx: return "ptx";
    case BinaryFormat::host_so: return "host_so";
  }
  return "?";
}

std::optional<BinaryFormat> parse_binary_format(std::string_view text) {
  for (BinaryFormat f : {BinaryFormat::cubin, BinaryFormat::ptx, BinaryFormat::host_so})
    if (text == to_string(f)) return f;
  return std::nullopt;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 || length != 32)
    throw Error(ErrorCode::Internal, "binary cache: OpenSSL's SHA-256 failed");
  std::string hex;
  hex.reserve(64);
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string sha256_file_hex(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!in || !context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) return {};
  std::vector<char> buffer(1 << 20);
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), in.get())) > 0)
    if (EVP_DigestUpdate(context.get(), buffer.data(), got) != 1) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (std::ferror(in.get()) || EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1 || length != 32)
    return {};
  std::string hex;
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string binary_key(const BinaryKeyInputs& inputs) {
  std::vector<std::string> options = inputs.options;
  std::sort(options.begin(), options.end());
  std::string text;
  append_field(text, "dcnjit binary key v1");
  append_field(text, inputs.backend);
  append_field(text, inputs.target);
  append_field(text, inputs.compiler_version);
  append_field(text, std::to_string(gen::GENERATOR_VERSION));
  append_field(text, std::to_string(options.size()));
  for (const std::string& option : options) append_field(text, option);
  append_field(text, inputs.source);
  for (const gen::TemplateFile& file : gen::template_library()) {
    append_field(text, file.path);
    append_field(text, file.contents);
  }
  return sha256_hex(text);
}

std::string default_binary_cache_path(const std::string& tuning_db_path) {
  std::string tuning = tuning_db_path.empty() ? environment_value("DCNJIT_CACHE") : tuning_db_path;
  if (!tuning.empty()) {
    const std::filesystem::path parent = std::filesystem::path(tuning).parent_path();
    return ((parent.empty() ? std::filesystem::path(".") : parent) / "binaries.sqlite").string();
  }
  if (std::string xdg = environment_value("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/dcnjit/binaries.sqlite";
  std::string home = environment_value("HOME");
  if (home.empty())
    if (const passwd* entry = getpwuid(getuid()); entry && entry->pw_dir) home = entry->pw_dir;
  return home.empty() ? std::string() : home + "/.cache/dcnjit/binaries.sqlite";
}

BinaryCache::BinaryCache(MemoryOnly) { persistence_error_ = "memory-only cache"; }

std::unique_ptr<BinaryCache> BinaryCache::memory_only() {
  return std::unique_ptr<BinaryCache>(new BinaryCache(MemoryOnly{}));
}

BinaryCache::BinaryCache(std::string path, std::chrono::milliseconds busy_timeout)
    : path_(path.empty() ? default_binary_cache_path() : std::move(path)) {
  if (path_.empty()) {
    persistence_error_ = "no cache directory (set DCNJIT_CACHE, XDG_CACHE_HOME or HOME)";
    return;
  }
  open_database(busy_timeout);
}

BinaryCache::~BinaryCache() = default;

void BinaryCache::open_database(std::chrono::milliseconds busy_timeout) {
  auto open = [&] {
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    try {
      if (!parent.empty()) create_private_directories(parent);
    } catch (const std::filesystem::filesystem_error&) {
      // Shows up as cannot_open below, naming the file.
    }
    auto connection = std::make_unique<store::Connection>(
        store::Connection::open(path_, store::Access::read_write, busy_timeout));
    store::migrate(*connection, kMigrations);
    return connection;
  };
  try {
    db_ = open();
  } catch (const store::StoreError& error) {
    if (error.kind() != store::StoreErrorKind::not_a_database && error.kind() != store::StoreErrorKind::foreign_schema) {
      persistence_error_ = error.what();
      return;
    }
    // Derived data: move the damaged file aside (kept for inspection) and start a fresh one.
    std::error_code failed;
    std::filesystem::rename(path_, path_ + ".corrupt", failed);
    if (failed) {
      persistence_error_ = fmt::format("{} (and it could not be moved aside: {})", error.what(), failed.message());
      return;
    }
    try {
      db_ = open();
    } catch (const Error& again) {
      persistence_error_ = again.what();
    }
  } catch (const Error& error) {
    persistence_error_ = error.what();
  }
}

void BinaryCache::disable_persistence(const std::string& why) {
  db_.reset();
  persistence_error_ = why;
}

std::optional<CachedBinary> BinaryCache::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto hit = memory_.find(key); hit != memory_.end()) {
    ++stats_.memory_hits;
    return hit->second;
  }
  if (db_) {
    try {
      store::Statement select =
          db_->prepare("SELECT name, format, target, entry, binary, log FROM binaries WHERE key = ?1");
      select.bind(1, key);
      if (select.step()) {
        const std::optional<BinaryFormat> format = parse_binary_format(select.column_text(1));
        CachedBinary binary{format.value_or(BinaryFormat::cubin), select.column_text(2), select.column_text(3),
                            select.column_text(4), select.column_text(5), select.column_text(0)};
        // A row with an unknown format or no entry/binary is treated as absent (and overwritten later).
        if (format && !binary.entry.empty() && !binary.binary.empty()) {
          ++stats_.disk_hits;
          memory_.emplace(key, binary);
          return binary;
        }
      }
    } catch (const Error& error) {
      disable_persistence(error.what());
    }
  }
  ++stats_.misses;
  return std::nullopt;
}

void BinaryCache::store(const std::string& key, const CachedBinary& binary) {
  std::lock_guard lock(mutex_);
  memory_.insert_or_assign(key, binary);
  ++stats_.stores;
  if (!db_) return;
  try {
    store::Transaction transaction(*db_);
    // The binary is bound as text and stored as a BLOB: CAST keeps the bytes as they are.
    db_->prepare(
           "INSERT INTO binaries (key, name, format, target, entry, binary, log, generator_version, created_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5, CAST(?6 AS BLOB), ?7, ?8, ?9) "
           "ON CONFLICT(key) DO UPDATE SET name = excluded.name, format = excluded.format, "
           "target = excluded.target, entry = excluded.entry, binary = excluded.binary, log = excluded.log, "
           "generator_version = excluded.generator_version, created_at = excluded.created_at")
        .bind_all(key, binary.name, to_string(binary.format), binary.target, binary.entry, binary.binary, binary.log,
                  int64_t(gen::GENERATOR_VERSION), int64_t(std::time(nullptr)))
        .run();
    transaction.commit();
  } catch (const Error& error) {
    disable_persistence(error.what());
  }
}

CachedBinary BinaryCache::get_or_compile(const std::string& key, const std::function<CachedBinary()>& compile) {
  if (std::optional<CachedBinary> hit = find(key)) return *hit;
  CachedBinary compiled = compile();  // no lock, no transaction: compiling may take seconds
  store(key, compiled);
  return compiled;
}

std::optional<std::string> BinaryCache::file_digest(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto known = file_digests_.find(name); known != file_digests_.end()) return known->second;
  if (!db_) return std::nullopt;
  try {
    store::Statement select = db_->prepare("SELECT sha256 FROM file_digests WHERE name = ?1");
    select.bind(1, name);
    if (select.step()) return file_digests_[name] = select.column_text(0);
  } catch (const Error& error) {
    disable_persistence(error.what());
  }
  return std::nullopt;
}

void BinaryCache::record_file_digest(const std::string& name, const std::string& sha256) {
  std::lock_guard lock(mutex_);
  file_digests_[name] = sha256;
  if (!db_) return;
  try {
    store::Transaction transaction(*db_);
    db_->prepare("INSERT INTO file_digests (name, sha256, created_at) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, created_at = excluded.created_at")
        .bind_all(name, sha256, int64_t(std::time(nullptr)))
        .run();
    transaction.commit();
  } catch (const Error& error) {
    disable_persistence(error.what());
  }
}

bool BinaryCache::persistent() const {
  std::lock_guard lock(mutex_);
  return db_ != nullptr;
}

std::string BinaryCache::persistence_error() const {
  std::lock_guard lock(mutex_);
  return persistence_error_;
}

BinaryCache::Stats BinaryCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace dcnjit::detail
