// A precompiled header of the SIMT shim, so that a kernel compile parses only the kernel. The shim
// with what it includes (cuda_fp16.h, cuda_bf16.h, the C++ headers) is most of a host compile: with
// g++ 12, 0.8 s of the 1.0 s a typical generated kernel takes; with the precompiled header, 0.2 s.
//
// GCC picks it up by itself: when `-include dcnjit_sim/simt.h` finds a directory `simt.h.gch` beside
// the header, it uses the first file in it that was built with compatible options and silently
// reads the header text otherwise. So one file per flag set can live side by side (a Release and a
// sanitizer build sharing a work directory), and a stale or mismatched file costs speed, never
// correctness. A damaged file (GCC fails on it) is deleted and the kernel compiled again without
// it (kernel_library.cpp). Other compilers (clang: detected by its --version line) compile without one.
//
// GCC does not check that a precompiled header came from the header text beside it, so a file planted
// in that directory would put someone else's code into every kernel. Each file built here has its
// sha256 recorded in the binary cache (in this user's cache directory) before it is moved in, and a
// file in the directory whose digest is not recorded there is deleted before GCC can see it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/binary_cache.h"
#include "runtime/sim/host_compiler.h"

namespace dcnjit::sim {

// The precompiled header for compiling with `flags` and `include_arguments` (the -I/-isystem
// arguments kernels are compiled with, whose first -I directory holds dcnjit_sim/simt.h): built
// now unless a previous process built it. Returns its path, or "" when the compiler is not GCC or
// the build failed (kernels then compile from the header text). Tries at most once per process and
// file; thread-safe. A build is atomic (temp file + rename): concurrent processes never see half of one.
// `cache` holds the digests (see above).
std::filesystem::path ensure_precompiled_shim(const HostCompiler& compiler, const std::string& compiler_identity,
                                              const std::vector<std::string>& flags,
                                              const std::filesystem::path& include_dir,
                                              const std::vector<std::string>& include_arguments,
                                              detail::BinaryCache& cache);

// Deletes a precompiled header GCC could not read (a damaged file is a fatal error, not a fallback)
// and keeps this process from building it again: its kernels compile from the header text.
void discard_precompiled_shim(const std::filesystem::path& file);

// Whether a compile error message is GCC failing to read a precompiled header (not the kernel's fault).
bool is_precompiled_header_failure(const std::string& compile_error);

}  // namespace dcnjit::sim
