// Turns CUDA source into a kernel the sim can run: writes the shim and the templates into an include
// directory, appends the export line (DCNJIT_SIM_EXPORT_KERNEL) to the source, compiles it with the
// host compiler into a shared object and dlopen's it.
//
// Two cache levels, so a kernel is compiled once per machine, not once per process:
//   1. the process: every library loaded so far, by binary key (dlopen'ed once, never unloaded:
//      kernels may run on any worker thread, and their thread_local shared memory must outlive
//      every launch);
//   2. the binary cache (runtime/binary_cache.h, binaries.sqlite; format host_so, backend "sim"),
//      shared with the cuda backend's cubins. dlopen needs a file, so the cached bytes are written
//      to the work directory first. An entry that is not a whole shared object (shared_object_check.h)
//      or does not load is rebuilt.
//
// Files live in a work directory ($DCNJIT_SIM_WORK_DIR, else <tmp>/dcnjit-sim-<uid>), which must be
// private (core/file_trust.h: created 0700; a named directory another user can write is an error,
// the default one is then replaced by <cache dir>/sim-work or a fresh temporary directory, with a
// warning). A shared object is loaded only after checking that the file holds the bytes the binary
// cache has (or the compiler just wrote):
//   include-<hash>/dcnjit_sim/*.h, include-<hash>/templates/*.cuh   shim + templates (hash of their text)
//   include-<hash>/dcnjit_sim/cuda/*.h                              the shim's mma.h, cuda_pipeline.h
//   include-<hash>/dcnjit_sim/simt.h.gch/<options>.gch                the shim precompiled (precompiled_shim.h)
//   <kernel>-<key>.cpp, <kernel>-<key>.so                            source as compiled, and the library
// The .cpp is written on a cache hit too, so gdb shows kernel source lines either way.
//
// Extra compiler flags: $DCNJIT_SIM_CXXFLAGS (space separated, e.g. "-g -O0" to debug a kernel). Flags that
// would break the contract's floating-point semantics (-ffast-math and its parts, -Ofast) are undone by
// flags added after them.
//
// Each kernel has two variants: the plain one, and the counting one (`counting` = true) that logs
// its memory accesses for the GPU counters (runtime/sim/README.md "Counters"; suffix -counting.so).
// The second is compiled only when a counting launch first needs it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "runtime/binary_cache.h"
#include "runtime/sim/host_compiler.h"
#include "runtime/sim/shim/simt_abi.h"

namespace dcnjit::sim {

struct SimKernel {
  std::string name;
  dcnjit_sim::EntryFunction entry = nullptr;
  std::size_t param_bytes = 0;  // sizeof the kernel's parameter struct
};

class KernelLibrary {
 public:
  // `cache` must not be null; several libraries may share one.
  KernelLibrary(HostCompiler compiler, std::shared_ptr<detail::BinaryCache> cache);

  // `source` is a CUDA translation unit defining `extern "C" __global__ void <name>(<param_type>)`.
  // Throws Error(CompileError) with the log and numbered source when the host compiler fails, and
  // Error(InvalidArgument) when `name` is not an identifier.
  SimKernel load(const std::string& name, const std::string& source, const std::string& param_type,
                 bool counting = false);

  // The compiler's identity (its --version line) and target machine, each computed once.
  const std::string& compiler_identity();
  const std::string& target_machine();
  const HostCompiler& compiler() const { return compiler_; }
  detail::BinaryCache& binary_cache() const { return *cache_; }

  // How many times this object ran the host compiler on a kernel (misses of both cache levels).
  int compilations() const { return compilations_; }

 private:
  // Compiles `text` into the shared object `library_path`; returns it as a cache entry.
  detail::CachedBinary build(const std::string& name, const std::string& text, const std::vector<std::string>& flags,
                             const std::string& source_path, const std::string& library_path);

  HostCompiler compiler_;
  std::shared_ptr<detail::BinaryCache> cache_;
  std::string identity_;
  std::string target_machine_;
  int compilations_ = 0;
};

}  // namespace dcnjit::sim
