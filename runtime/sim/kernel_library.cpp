#include "runtime/sim/kernel_library.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "dcnjit/error.h"
#include "generator/template_library.h"
#include "core/file_trust.h"
#include "runtime/sim/dynamic_shared_rewrite.h"
#include "runtime/sim/precompiled_shim.h"
#include "runtime/sim/shared_object_check.h"
#include "runtime/sim/shim_files.h"

// Baked in by runtime/sim/CMakeLists.txt.
#ifndef DCNJIT_SIM_CUDA_INCLUDE_DIR
#define DCNJIT_SIM_CUDA_INCLUDE_DIR "/usr/local/cuda/include"
#endif
#ifndef DCNJIT_SIM_CUDA_VERSION
#define DCNJIT_SIM_CUDA_VERSION "unknown"
#endif

namespace dcnjit::sim {

namespace fs = std::filesystem;

namespace {

// 128-bit FNV-1a (two independent 64-bit lanes): a content key for file names, not a security hash.
class ContentHash {
 public:
  void add(std::string_view data) {
    for (unsigned char c : data) {
      low_ = (low_ ^ c) * 0x100000001b3ull;
      high_ = (high_ ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
    // Separator so ("ab","c") and ("a","bc") differ.
    low_ = (low_ ^ 0xff) * 0x100000001b3ull;
    high_ = (high_ ^ 0xff) * 0x100000001b3ull;
  }
  std::string hex() const { return fmt::format("{:016x}{:016x}", high_, low_); }

 private:
  uint64_t low_ = 0xcbf29ce484222325ull;
  uint64_t high_ = 0x84222325cbf29ce4ull;
};

bool is_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// Writes `contents` to `path` unless it already holds them; atomic (temp file + rename), so
// concurrent processes never see a half-written header or library, and a process that has the old
// file dlopen'ed keeps its mapping.
void write_file(const fs::path& path, std::string_view contents) {
  {
    std::ifstream existing(path, std::ios::binary);
    if (existing) {
      std::ostringstream text;
      text << existing.rdbuf();
      if (text.str() == contents) return;
    }
  }
  fs::create_directories(path.parent_path());
  const fs::path temporary = path.string() + fmt::format(".tmp{}", getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), std::streamsize(contents.size()));
    if (!out) throw Error(ErrorCode::IoError, fmt::format("sim: cannot write {}", temporary.string()));
  }
  fs::rename(temporary, path);
}

// Creates `dir` private (0700) if it is missing; "" when it can then be trusted, else why not.
std::string prepare_private_directory(const fs::path& dir) {
  try {
    detail::create_private_directories(dir);
  } catch (const fs::filesystem_error& e) {
    return fmt::format("cannot be created ({})", e.code().message());
  }
  return detail::untrusted_directory_reason(dir);
}

// The sim compiles and loads code from its work directory, so nobody else may be able to write it
// (core/file_trust.h). A directory the user names must be private; the shared default in /tmp,
// which any user can create first, is replaced by a private one when it is not.
fs::path work_directory() {
  const char* configured = std::getenv("DCNJIT_SIM_WORK_DIR");
  if (configured && *configured) {
    if (const std::string problem = prepare_private_directory(configured); !problem.empty())
      throw Error(ErrorCode::IoError,
                  fmt::format("sim: the work directory {} (DCNJIT_SIM_WORK_DIR) {}; the sim compiles and loads code "
                              "there, so no other user may be able to write it",
                              configured, problem));
    return configured;
  }
  const fs::path shared = fs::temp_directory_path() / fmt::format("dcnjit-sim-{}", getuid());
  const std::string problem = prepare_private_directory(shared);
  if (problem.empty()) {
    std::error_code ignored;  // private to the user, whatever an older version created it with
    fs::permissions(shared, fs::perms::owner_all, ignored);
    return shared;
  }
  // Beside the binary cache when there is one (stable, so the precompiled header is reused), else a
  // fresh temporary directory.
  fs::path fallback;
  if (const std::string cache = detail::default_binary_cache_path(); !cache.empty()) {
    fallback = fs::path(cache).parent_path() / "sim-work";
    if (!prepare_private_directory(fallback).empty()) fallback.clear();
  }
  if (fallback.empty()) {
    std::string pattern = (fs::temp_directory_path() / fmt::format("dcnjit-sim-{}-XXXXXX", getuid())).string();
    if (!mkdtemp(pattern.data()))
      throw Error(ErrorCode::IoError, fmt::format("sim: the work directory {} {}, and no private one could be made "
                                                  "({}); set DCNJIT_SIM_WORK_DIR to a private directory",
                                                  shared.string(), problem, std::strerror(errno)));
    fallback = pattern;
  }
  fmt::print(stderr, "dcnjit: warning: sim: not using the work directory {}, which {}; using {} instead\n",
             shared.string(), problem, fallback.string());
  return fallback;
}

struct Workspace {
  fs::path root;
  fs::path include_dir;
  std::string headers_hash;
};

// Created once per process: the headers are embedded in the binary and cannot change.
const Workspace& workspace() {
  static const Workspace instance = [] {
    Workspace w;
    w.root = work_directory();
    ContentHash hash;
    for (const ShimFile& file : shim_files()) hash.add(file.path), hash.add(file.contents);
    for (const gen::TemplateFile& file : gen::template_library()) hash.add(file.path), hash.add(file.contents);
    w.headers_hash = hash.hex();
    w.include_dir = w.root / ("include-" + w.headers_hash.substr(0, 16));
    try {
      for (const ShimFile& file : shim_files()) write_file(w.include_dir / file.path, file.contents);
      for (const gen::TemplateFile& file : gen::template_library())
        write_file(w.include_dir / file.path, rewrite_dynamic_shared(file.contents));
    } catch (const fs::filesystem_error& e) {
      throw Error(ErrorCode::IoError, fmt::format("sim: cannot prepare the work directory {} ({}); set "
                                                  "DCNJIT_SIM_WORK_DIR to a writable directory",
                                                  w.root.string(), e.what()));
    }
    return w;
  }();
  return instance;
}

std::vector<std::string> split_flags(const char* text) {
  std::vector<std::string> out;
  std::istringstream in(text ? text : "");
  for (std::string flag; in >> flag;) out.push_back(flag);
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw Error(ErrorCode::IoError, fmt::format("sim: cannot read {}", path.string()));
  return bytes.str();
}

// `counting`: the variant that logs memory accesses (shim/simt_counters.h): ThreadSanitizer's
// instrumentation, whose entry points the shim defines, without its runtime. It replaces the
// sanitizer flags of a sanitizer build (TSan and ASan exclude each other); the counting variant is
// compiled to an object and linked in a second step, because GCC links libtsan into anything it
// links with -fsanitize=thread.
std::vector<std::string> compile_flags(bool counting, bool clang) {
  std::vector<std::string> flags = {
      "-std=c++20", "-O1", "-fPIC",
      // Kernels reinterpret memory freely (vector loads, half2 words), as CUDA code does.
      "-fno-strict-aliasing"};
  if (!counting) {
    flags.push_back("-shared");
#if defined(__SANITIZE_ADDRESS__)
    // A sanitizer build of dcnjit checks the kernels too: out-of-bounds indexing is their typical bug.
    flags.insert(flags.end(), {"-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                               "-fno-omit-frame-pointer"});
#endif
  } else {
    flags.insert(flags.end(), {"-DDCNJIT_SIM_COUNTERS=1", "-fsanitize=thread"});
    // Function entry/exit hooks would only cost time; clang would also turn atomics into runtime calls.
    if (clang)
      flags.insert(flags.end(),
                   {"-mllvm", "-tsan-instrument-func-entry-exit=0", "-mllvm", "-tsan-instrument-atomics=0"});
    else
      // -fno-gnu-unique: GCC makes thread-locals of inline functions and templates (a `__shared__`
      // array in a template) STB_GNU_UNIQUE, which the dynamic linker binds process-wide to the first
      // library that defined them, even under RTLD_LOCAL. Then the array would not lie in this
      // library's thread-local block, and its accesses would not count as shared.
      flags.insert(flags.end(), {"--param=tsan-instrument-func-entry-exit=0", "-fno-gnu-unique"});
  }
  for (std::string& flag : split_flags(std::getenv("DCNJIT_SIM_CXXFLAGS"))) flags.push_back(std::move(flag));
  // After the user's flags, so they win over -ffast-math, -Ofast or -ffinite-math-only: the kernels'
  // range tests must see NaN (a NaN offset would otherwise index anywhere), and non-finite inputs must
  // propagate as IEEE arithmetic does (docs/semantics.md).
  flags.insert(flags.end(), {"-fno-fast-math", "-fno-finite-math-only", "-fno-unsafe-math-optimizations",
                             "-fno-associative-math", "-fno-reciprocal-math", "-fsigned-zeros"});
  return flags;
}

bool is_clang(const std::string& compiler_identity) { return compiler_identity.find("clang") != std::string::npos; }

// Everything besides the source and the compiler that the binary depends on, as binary-key options.
// Paths are left out (the work directory differs between users); the headers enter by content.
std::vector<std::string> key_options(const std::vector<std::string>& flags, const Workspace& w) {
  std::vector<std::string> options = flags;
  options.push_back("-include dcnjit_sim/simt.h");
  options.push_back("headers=" + w.headers_hash);
  options.push_back(std::string("cuda-headers=") + DCNJIT_SIM_CUDA_VERSION);
  options.push_back(fmt::format("abi={}", dcnjit_sim::kAbiVersion));
  return options;
}

// The first cache level: every kernel this process has loaded, by binary key.
std::mutex loaded_mutex;
std::map<std::string, SimKernel>& loaded_kernels() {
  static std::map<std::string, SimKernel> kernels;
  return kernels;
}

// dlopen's `file`, which must hold exactly `bytes` (what the binary cache has or the compiler just
// wrote: nothing else is loaded), and looks up the entry points of kernel `name`. Returns the failure
// instead of throwing: a library from the cache that does not load is rebuilt, not an error.
std::optional<SimKernel> open_kernel(const fs::path& file, const std::string& bytes, const std::string& name,
                                     std::string& why) {
  if (read_file(file) != bytes) {
    why = fmt::format("{} does not hold the library that was written there", file.string());
    return std::nullopt;
  }
  void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* error = dlerror();
    why = fmt::format("cannot load {}: {}", file.string(), error ? error : "unknown error");
    return std::nullopt;
  }
  auto lookup = [&](const std::string& symbol) -> void* {
    void* address = dlsym(library, symbol.c_str());
    if (!address && why.empty())
      why = fmt::format("{} does not export {} (the source must define the kernel as extern \"C\")", file.string(),
                        symbol);
    return address;
  };
  auto* abi_version = reinterpret_cast<dcnjit_sim::AbiVersionFunction>(lookup(name + "_sim_abi_version"));
  auto* entry = reinterpret_cast<dcnjit_sim::EntryFunction>(lookup(name + "_sim_entry"));
  auto* param_bytes = reinterpret_cast<dcnjit_sim::ParamBytesFunction>(lookup(name + "_sim_param_bytes"));
  if (abi_version && abi_version() != dcnjit_sim::kAbiVersion)
    why = fmt::format("{} was built for shim ABI {}, this build uses {}", file.string(), abi_version(),
                      dcnjit_sim::kAbiVersion);
  if (!why.empty()) {
    dlclose(library);
    return std::nullopt;
  }
  return SimKernel{name, entry, param_bytes()};
}

}  // namespace

KernelLibrary::KernelLibrary(HostCompiler compiler, std::shared_ptr<detail::BinaryCache> cache)
    : compiler_(std::move(compiler)), cache_(std::move(cache)) {
  if (!cache_) throw Error(ErrorCode::Internal, "sim: KernelLibrary needs a binary cache");
}

const std::string& KernelLibrary::compiler_identity() {
  if (identity_.empty()) identity_ = compiler_.identity();
  return identity_;
}

const std::string& KernelLibrary::target_machine() {
  if (target_machine_.empty()) target_machine_ = compiler_.target_machine();
  return target_machine_;
}

detail::CachedBinary KernelLibrary::build(const std::string& name, const std::string& text,
                                          const std::vector<std::string>& flags, const std::string& source_path,
                                          const std::string& library_path) {
  const Workspace& w = workspace();
  const std::string temporary = library_path + fmt::format(".tmp{}", getpid());
  // The shim's <mma.h> and <cuda_pipeline.h> (dcnjit_sim/cuda) come before the toolkit's.
  const std::vector<std::string> includes = {"-I",       w.include_dir.string(),
                                             "-I",       (w.include_dir / "dcnjit_sim/cuda").string(),
                                             "-isystem", DCNJIT_SIM_CUDA_INCLUDE_DIR};
  const fs::path precompiled =
      ensure_precompiled_shim(compiler_, compiler_identity(), flags, w.include_dir, includes, *cache_);
  // Flags without -shared only compile (the counting variant): it is linked below.
  const bool two_steps = std::find(flags.begin(), flags.end(), "-shared") == flags.end();
  const std::string object = temporary + ".o";
  std::vector<std::string> arguments = flags;
  arguments.insert(arguments.end(), includes.begin(), includes.end());
  if (two_steps) arguments.push_back("-c");
  arguments.insert(arguments.end(),
                   {"-include", "dcnjit_sim/simt.h", "-o", two_steps ? object : temporary, source_path});
  ++compilations_;
  std::string log;
  try {
    log = compiler_.compile(arguments, "kernel " + name, text);
  } catch (const Error& e) {
    if (precompiled.empty() || !is_precompiled_header_failure(e.what())) throw;
    discard_precompiled_shim(precompiled);
    log = compiler_.compile(arguments, "kernel " + name, text);
  }
  if (two_steps) {
    log += compiler_.compile({"-shared", "-o", temporary, object}, "the library of kernel " + name, text);
    std::error_code ignored;
    fs::remove(object, ignored);
  }
  fs::rename(temporary, library_path);
  return detail::CachedBinary{detail::BinaryFormat::host_so, target_machine(), name + "_sim_entry",
                              read_file(library_path), std::move(log), name};
}

SimKernel KernelLibrary::load(const std::string& name, const std::string& source, const std::string& param_type,
                              bool counting) {
  if (!is_identifier(name))
    throw Error(ErrorCode::InvalidArgument, fmt::format("sim: kernel name '{}' is not a C identifier", name));
  if (param_type.empty())
    throw Error(ErrorCode::InvalidArgument, fmt::format("sim: kernel {} has no parameter type", name));
  const Workspace& w = workspace();
  const std::vector<std::string> flags = compile_flags(counting, is_clang(compiler_identity()));

  const std::string text = rewrite_dynamic_shared(source) +
                           fmt::format("\n// Added by the sim backend: the entry points its engine calls.\n"
                                       "DCNJIT_SIM_EXPORT_KERNEL({}, {})\n",
                                       name, param_type);
  const std::string key =
      detail::binary_key({text, key_options(flags, w), compiler_identity(), target_machine(), "sim"});

  std::lock_guard lock(loaded_mutex);
  if (auto loaded = loaded_kernels().find(key); loaded != loaded_kernels().end()) return loaded->second;

  const std::string stem =
      (w.root / fmt::format("{}-{}{}", name, key.substr(0, 20), counting ? "-counting" : "")).string();
  const std::string source_path = stem + ".cpp";
  const std::string library_path = stem + ".so";
  std::string why;
  try {
    write_file(source_path, text);  // compiler input on a miss, gdb's source on a hit
    if (std::optional<detail::CachedBinary> cached = cache_->find(key)) {
      if (cached->format != detail::BinaryFormat::host_so) {
        why = fmt::format("the cache entry is a {}, not a host_so", detail::to_string(cached->format));
      } else if (std::string problem = shared_object_problem(cached->binary); !problem.empty()) {
        why = "the cached library is damaged: " + problem;
      } else {
        write_file(library_path, cached->binary);
        if (std::optional<SimKernel> kernel = open_kernel(library_path, cached->binary, name, why))
          return loaded_kernels()[key] = *kernel;
      }
    }
    // A miss, or an entry that did not load: compile and (re)place the entry. A rebuild goes to
    // another file: the damaged one may still be mapped under its name, and dlopen matches by name.
    const std::string output = why.empty() ? library_path : stem + ".rebuilt.so";
    const detail::CachedBinary built = build(name, text, flags, source_path, output);
    cache_->store(key, built);
    why.clear();
    if (std::optional<SimKernel> kernel = open_kernel(output, built.binary, name, why))
      return loaded_kernels()[key] = *kernel;
  } catch (const fs::filesystem_error& e) {
    throw Error(ErrorCode::IoError, fmt::format("sim: cannot write kernel {} to the work directory {} ({}); set "
                                                "DCNJIT_SIM_WORK_DIR to a writable directory",
                                                name, w.root.string(), e.what()));
  }
  throw Error(ErrorCode::CompileError, "sim: " + why);
}

}  // namespace dcnjit::sim
