#include "runtime/sim/kernel_library.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "dcnjit/error.h"
#include "generator/template_library.h"
#include "runtime/sim/dynamic_shared_rewrite.h"
#include "runtime/sim/shim_files.h"

// Baked in by runtime/sim/CMakeLists.txt.
#ifndef DCNJIT_SIM_CUDA_INCLUDE_DIR
#define DCNJIT_SIM_CUDA_INCLUDE_DIR "/usr/local/cuda/include"
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
// concurrent processes never see a half-written header.
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

fs::path work_directory() {
  const char* configured = std::getenv("DCNJIT_SIM_WORK_DIR");
  if (configured && *configured) return configured;
  return fs::temp_directory_path() / fmt::format("dcnjit-sim-{}", getuid());
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

std::vector<std::string> compile_flags() {
  std::vector<std::string> flags = {
      "-std=c++20", "-O1", "-fPIC", "-shared",
      // Kernels reinterpret memory freely (vector loads, half2 words), as CUDA code does.
      "-fno-strict-aliasing"};
#if defined(__SANITIZE_ADDRESS__)
  // A sanitizer build of dcnjit checks the kernels too: out-of-bounds indexing is their typical bug.
  flags.insert(flags.end(), {"-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                             "-fno-omit-frame-pointer"});
#endif
  for (std::string& flag : split_flags(std::getenv("DCNJIT_SIM_CXXFLAGS"))) flags.push_back(std::move(flag));
  return flags;
}

// Libraries loaded so far, by file path: a process loads each at most once.
std::mutex loaded_mutex;
std::map<std::string, void*>& loaded_libraries() {
  static std::map<std::string, void*> libraries;
  return libraries;
}

template <typename Function>
Function symbol(void* library, const std::string& name, const fs::path& file) {
  void* address = dlsym(library, name.c_str());
  if (!address)
    throw Error(ErrorCode::CompileError,
                fmt::format("sim: {} does not export {} (the source must define the kernel as extern \"C\")",
                            file.string(), name));
  return reinterpret_cast<Function>(address);
}

}  // namespace

KernelLibrary::KernelLibrary(HostCompiler compiler) : compiler_(std::move(compiler)) {}

const std::string& KernelLibrary::compiler_identity() {
  if (identity_.empty()) identity_ = compiler_.identity();
  return identity_;
}

SimKernel KernelLibrary::load(const std::string& name, const std::string& source, const std::string& param_type) {
  if (!is_identifier(name))
    throw Error(ErrorCode::InvalidArgument, fmt::format("sim: kernel name '{}' is not a C identifier", name));
  if (param_type.empty())
    throw Error(ErrorCode::InvalidArgument, fmt::format("sim: kernel {} has no parameter type", name));
  const Workspace& w = workspace();
  const std::vector<std::string> flags = compile_flags();

  const std::string text = rewrite_dynamic_shared(source) +
                           fmt::format("\n// Added by the sim backend: the entry points its engine calls.\n"
                                       "DCNJIT_SIM_EXPORT_KERNEL({}, {})\n",
                                       name, param_type);
  ContentHash hash;
  hash.add(compiler_identity());
  for (const std::string& flag : flags) hash.add(flag);
  hash.add(w.headers_hash);
  hash.add(fmt::format("abi {}", dcnjit_sim::kAbiVersion));
  hash.add(text);
  const std::string stem = fmt::format("{}-{}", name, hash.hex().substr(0, 20));
  const fs::path library_path = w.root / (stem + ".so");
  const fs::path source_path = w.root / (stem + ".cpp");

  std::lock_guard lock(loaded_mutex);
  void*& library = loaded_libraries()[library_path.string()];
  if (!library) {
    if (!fs::exists(library_path)) {
      write_file(source_path, text);
      const fs::path temporary = library_path.string() + fmt::format(".tmp{}", getpid());
      std::vector<std::string> arguments = flags;
      arguments.insert(arguments.end(), {"-I", w.include_dir.string(), "-isystem", DCNJIT_SIM_CUDA_INCLUDE_DIR,
                                         "-include", "dcnjit_sim/simt.h", "-o", temporary.string(),
                                         source_path.string()});
      ++compilations_;
      compiler_.compile(arguments, "kernel " + name, text);
      fs::rename(temporary, library_path);
    }
    library = dlopen(library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char* why = dlerror();
      loaded_libraries().erase(library_path.string());
      throw Error(ErrorCode::CompileError,
                  fmt::format("sim: cannot load {}: {}", library_path.string(), why ? why : "unknown error"));
    }
  }

  SimKernel kernel;
  kernel.name = name;
  const auto abi_version = symbol<dcnjit_sim::AbiVersionFunction>(library, name + "_sim_abi_version", library_path);
  if (abi_version() != dcnjit_sim::kAbiVersion)
    throw Error(ErrorCode::CompileError, fmt::format("sim: {} was built for shim ABI {}, this build uses {}",
                                                     library_path.string(), abi_version(), dcnjit_sim::kAbiVersion));
  kernel.entry = symbol<dcnjit_sim::EntryFunction>(library, name + "_sim_entry", library_path);
  kernel.param_bytes = symbol<dcnjit_sim::ParamBytesFunction>(library, name + "_sim_param_bytes", library_path)();
  return kernel;
}

}  // namespace dcnjit::sim
