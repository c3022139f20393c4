// Turns CUDA source into a kernel the sim can run: writes the shim and the templates into an include
// directory, appends the export line (DCNJIT_SIM_EXPORT_KERNEL) to the source, compiles it with the
// host compiler into a shared object and dlopen's it.
//
// Files live in a work directory ($DCNJIT_SIM_WORK_DIR, else <tmp>/dcnjit-sim-<uid>):
//   include-<hash>/dcnjit_sim/*.h, include-<hash>/templates/*.cuh   shim + templates (hash of their text)
//   <kernel>-<key>.cpp, <kernel>-<key>.so                            source as compiled, and the library
// The key hashes everything the binary depends on (compiler identity, flags, headers, source), so a
// second process reuses the .so of the first, and the kept .cpp lets gdb show kernel source lines.
// Loaded libraries stay loaded for the life of the process (kernels may run on any worker thread,
// and their thread_local shared memory must outlive every launch).
//
// Extra compiler flags: $DCNJIT_SIM_CXXFLAGS (space separated, e.g. "-g -O0" to debug a kernel).
#pragma once

#include <cstddef>
#include <string>

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
  explicit KernelLibrary(HostCompiler compiler);

  // `source` is a CUDA translation unit defining `extern "C" __global__ void <name>(<param_type>)`.
  // Throws Error(CompileError) with the log and numbered source when the host compiler fails, and
  // Error(InvalidArgument) when `name` is not an identifier.
  SimKernel load(const std::string& name, const std::string& source, const std::string& param_type);

  // The compiler's identity (its --version line), computed once.
  const std::string& compiler_identity();
  const HostCompiler& compiler() const { return compiler_; }

  // How many kernels this object compiled (cache misses), for tests of the cache.
  int compilations() const { return compilations_; }

 private:
  HostCompiler compiler_;
  std::string identity_;
  int compilations_ = 0;
};

}  // namespace dcnjit::sim
