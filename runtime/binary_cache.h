// BinaryCache: compiled kernels by content key, in memory and in SQLite (binaries.sqlite beside the
// tuning database), so a warm process or a second process never recompiles a known kernel.
//
// Key (docs/architecture.md, caches and keys): sha256 over the generated source, the text of every embedded template
// (generator/template_library.h; a template edit must not reuse stale binaries even if nobody bumps
// the version), the sorted compiler options, the compiler version, the target, GENERATOR_VERSION and
// the backend ("cuda" for NVRTC cubin/PTX, "sim" for host shared objects).
//
// Persistence is best effort: the cache is derived data, so a file that is corrupt is moved aside
// (<file>.corrupt) and recreated, and a file that cannot be opened, is locked past the busy timeout
// or fails later leaves the cache memory-only (persistence_error() says why). So does a file that
// another user can write, or one in such a directory (core/file_trust.h): its binaries would be
// loaded and run, so nothing is read from it. Compilation is never done inside a transaction; each
// write is one short BEGIN IMMEDIATE ... COMMIT. Thread-safe.
//
// The cache also keeps the digests of files this user's dcnjit writes outside it and loads later (the
// sim's precompiled headers, too large to keep here): a process trusts such a file only when its
// digest is recorded here.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dcnjit::store {
class Connection;
}

namespace dcnjit::detail {

enum class BinaryFormat { cubin, ptx, host_so };
const char* to_string(BinaryFormat format);
std::optional<BinaryFormat> parse_binary_format(std::string_view text);

struct BinaryKeyInputs {
  std::string_view source;
  std::vector<std::string> options;  // any order: sorted before hashing
  std::string compiler_version;      // "nvrtc 13.0", "g++ 12.2.0"
  std::string target;                // "sm_90", "compute_90", "x86_64"
  std::string backend;               // "cuda", "sim"
};
// 64 lowercase hex digits.
std::string binary_key(const BinaryKeyInputs& inputs);

// sha256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
// sha256 of the file's contents, or "" when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& file);

struct CachedBinary {
  BinaryFormat format = BinaryFormat::cubin;
  std::string target;  // what it was built for ("sm_90", "compute_90", "x86_64")
  std::string entry;   // lowered entry point name: what the loader looks up
  std::string binary;  // cubin / PTX text / shared object bytes
  std::string log;     // the compiler's log (ptxas resource lines), for `dcnjit emit` on a hit
  std::string name;    // the kernel's name (informational)
};

// "binaries.sqlite" in the directory of the tuning database: `tuning_db_path`'s directory when it is
// given (EngineOptions::cache_path), else $DCNJIT_CACHE's directory, else $XDG_CACHE_HOME/dcnjit,
// else ~/.cache/dcnjit. "" when none of these is known (no HOME): the cache is then memory-only.
std::string default_binary_cache_path(const std::string& tuning_db_path = {});

class BinaryCache {
 public:
  struct Stats {
    std::uint64_t memory_hits = 0, disk_hits = 0, misses = 0, stores = 0;
  };

  // Opens (creating the directory and file if needed) the SQLite file at `path`, "" meaning
  // default_binary_cache_path(). Never throws for an unusable file: see persistence_error().
  explicit BinaryCache(std::string path = {}, std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  // A cache that never touches the disk.
  static std::unique_ptr<BinaryCache> memory_only();
  ~BinaryCache();
  BinaryCache(const BinaryCache&) = delete;
  BinaryCache& operator=(const BinaryCache&) = delete;

  std::optional<CachedBinary> find(const std::string& key);
  void store(const std::string& key, const CachedBinary& binary);
  // The cached binary for `key`, or the result of compile() (run without any lock held), stored.
  // Exceptions from compile() propagate and nothing is stored.
  CachedBinary get_or_compile(const std::string& key, const std::function<CachedBinary()>& compile);

  // The sha256 (64 hex digits) recorded for the file known as `name`, if any; and recording one.
  std::optional<std::string> file_digest(const std::string& name);
  void record_file_digest(const std::string& name, const std::string& sha256);

  bool persistent() const;
  const std::string& path() const { return path_; }
  std::string persistence_error() const;
  Stats stats() const;

 private:
  struct MemoryOnly {};
  explicit BinaryCache(MemoryOnly);
  void open_database(std::chrono::milliseconds busy_timeout);
  void disable_persistence(const std::string& why);  // caller holds mutex_

  mutable std::mutex mutex_;
  std::string path_;
  std::unique_ptr<store::Connection> db_;  // null: memory-only
  std::string persistence_error_;
  std::unordered_map<std::string, CachedBinary> memory_;
  std::unordered_map<std::string, std::string> file_digests_;
  Stats stats_;
};

}  // namespace dcnjit::detail
