// NVRTC compilation of generated kernels (docs/architecture.md, caches and keys).
//
// Target: straight to cubin (-arch=sm_XX) when NVRTC lists the device's arch in
// nvrtcGetSupportedArchs; otherwise PTX for the highest supported compute_XX not above the device
// (or the highest overall for a newer device), which the driver JIT-compiles; CompiledKernel says
// which. Archs below NVRTC's oldest are Error(Unsupported).
//
// Options are fixed and sorted (they are part of the binary key): --std=c++17, the arch, and
// --ptxas-options=-v for the resource log. The include path to the toolkit's cuda_fp16.h /
// cuda_bf16.h is not part of the key (it names a directory, not a semantic choice; the NVRTC
// version in the key identifies the headers). It is, in order: $DCNJIT_CUDA_INCLUDE,
// $CUDA_HOME/include, $CUDA_PATH/include, the toolkit this library was built against,
// /usr/local/cuda/include: the first that has cuda_fp16.h. The templates are handed to NVRTC as
// in-memory headers from generator/template_library.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "generator/kernel_source.h"
#include "runtime/binary_cache.h"
#include "runtime/nvrtc/ptxas_log.h"

namespace dcnjit::nvrtc {

struct Target {
  detail::BinaryFormat format = detail::BinaryFormat::cubin;
  int arch = 0;      // 90 for sm_90 / compute_90
  std::string name;  // "sm_90" (cubin) or "compute_90" (PTX)
};

struct CompiledKernel {
  detail::BinaryFormat format = detail::BinaryFormat::cubin;
  std::string target;  // Target::name
  std::string entry;   // lowered name of the entry point
  std::string binary;  // cubin bytes or PTX text
  std::string log;
  KernelResources resources;  // known for cubin builds
  bool from_cache = false;
};

// "nvrtc 13.0".
std::string version();
std::vector<int> supported_archs();  // ascending, e.g. {75, 80, ..., 121}
// "sm_90", "compute_90" or "90" -> 90; Error(InvalidArgument) naming the text otherwise.
int parse_arch(const std::string& text);
Target target_for(int arch);
std::vector<std::string> compile_options(const Target& target);  // sorted
std::string cuda_include_dir();  // "" when not found

// Compiles with NVRTC, no cache. Throws Error(CompileError) whose message carries the log and the
// numbered source around every error (compile_error.h).
CompiledKernel compile(const gen::KernelSource& kernel, int arch);
// Through `cache`: a hit returns without calling NVRTC.
CompiledKernel compile(const gen::KernelSource& kernel, int arch, detail::BinaryCache& cache);
// The binary-cache key compile(kernel, arch, cache) uses.
std::string cache_key(const gen::KernelSource& kernel, const Target& target);

// Process-wide number of nvrtcCompileProgram calls so far (lets tests prove a cache hit compiled nothing).
std::uint64_t compile_invocations();

}  // namespace dcnjit::nvrtc
