#include "runtime/sim/precompiled_shim.h"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>

#include "dcnjit/error.h"
#include "runtime/binary_cache.h"

namespace dcnjit::sim {

namespace fs = std::filesystem;

namespace {

// The shim header every kernel is compiled with (`-include dcnjit_sim/simt.h`).
constexpr const char* kShimHeader = "dcnjit_sim/simt.h";

bool is_gcc(const std::string& compiler_identity) {
  // GCC's first --version line is "<program> (<package>) <version>"; clang's says "clang version".
  return compiler_identity.find("clang") == std::string::npos;
}

// Outcome of the one attempt per file and process.
std::mutex attempts_mutex;
std::map<fs::path, bool>& attempts() {
  static std::map<fs::path, bool> built;
  return built;
}

// Deletes every file in the .gch directory whose digest the cache does not know, once per process and
// directory (caller holds attempts_mutex): GCC would use any compatible file it finds there.
void remove_unrecorded_headers(const fs::path& gch_directory, detail::BinaryCache& cache) {
  static std::set<fs::path> checked;
  if (!checked.insert(gch_directory).second) return;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(gch_directory, ec)) {
    if (entry.is_directory(ec)) continue;  // GCC reads files only
    const std::optional<std::string> recorded = cache.file_digest(entry.path().string());
    if (!recorded || *recorded != detail::sha256_file_hex(entry.path())) fs::remove(entry.path(), ec);
  }
}

}  // namespace

fs::path ensure_precompiled_shim(const HostCompiler& compiler, const std::string& compiler_identity,
                                 const std::vector<std::string>& flags, const fs::path& include_dir,
                                 const std::vector<std::string>& include_arguments, detail::BinaryCache& cache) {
  if (!is_gcc(compiler_identity)) return {};
  std::string options = compiler_identity;
  for (const std::string& argument : flags) options += '\n' + argument;
  for (const std::string& argument : include_arguments) options += '\n' + argument;
  const fs::path header = include_dir / kShimHeader;
  const fs::path file = header.string() + ".gch/" + detail::sha256_hex(options).substr(0, 24) + ".gch";

  std::lock_guard lock(attempts_mutex);
  if (auto attempt = attempts().find(file); attempt != attempts().end()) return attempt->second ? file : fs::path();
  bool& usable = attempts()[file];
  std::error_code ignored;
  remove_unrecorded_headers(file.parent_path(), cache);
  if (fs::exists(file, ignored)) return usable = true, file;

  // Built outside the .gch directory (GCC would try a half-written file in it), then moved in.
  const fs::path temporary = header.string() + fmt::format(".gch.tmp{}", getpid());
  std::vector<std::string> arguments = flags;
  arguments.insert(arguments.end(), include_arguments.begin(), include_arguments.end());
  arguments.insert(arguments.end(), {"-x", "c++-header", header.string(), "-o", temporary.string()});
  try {
    compiler.compile(arguments, "the precompiled shim header", {});
    // Recorded before it becomes visible, so that no other process takes it for a stranger's file.
    cache.record_file_digest(file.string(), detail::sha256_file_hex(temporary));
    fs::create_directories(file.parent_path());
    fs::rename(temporary, file);
    usable = true;
  } catch (const Error&) {
    // Not fatal: every kernel still compiles from the header text, only slower.
  } catch (const fs::filesystem_error&) {
  }
  fs::remove(temporary, ignored);
  return usable ? file : fs::path();
}

void discard_precompiled_shim(const fs::path& file) {
  std::lock_guard lock(attempts_mutex);
  attempts()[file] = false;
  std::error_code ignored;
  fs::remove(file, ignored);
}

bool is_precompiled_header_failure(const std::string& compile_error) {
  // GCC: "error: while reading precompiled header", "one or more PCH files were found, but they were invalid".
  return compile_error.find("precompiled header") != std::string::npos ||
         compile_error.find("PCH file") != std::string::npos;
}

}  // namespace dcnjit::sim
