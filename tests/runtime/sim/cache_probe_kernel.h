// The kernel the binary-cache tests load, in this process and in sim_cache_probe: small (one host
// compile, ~1 s) and made unique per test by a tag in a comment, so no earlier run, no other test
// and no other process has it cached unless the test put it there.
#pragma once

#include <string>
#include <vector>

#include "runtime/sim/sim_kernel_device.h"

namespace dcnjit::sim::testing {

inline constexpr unsigned kProbeThreads = 64;

struct ProbeParams {
  int* out;
};

inline gen::KernelSource cache_probe_kernel(const std::string& tag) {
  gen::KernelSource kernel;
  kernel.name = "cache_probe";
  kernel.param_type = "ProbeParams";
  kernel.source = "// cache test tag: " + tag +
                  "\n"
                  "struct ProbeParams { int* out; };\n"
                  "extern \"C\" __global__ void cache_probe(ProbeParams p) {\n"
                  "  p.out[threadIdx.x] = 3 * int(threadIdx.x) + 1;\n"
                  "}\n";
  return kernel;
}

// Loads the probe kernel of `tag` on `device`, runs one block and checks out[i] == 3i+1 (a library
// that loaded but computes something else fails here).
inline bool run_cache_probe(SimKernelDevice& device, const std::string& tag) {
  detail::LoadedKernel* kernel = device.load(cache_probe_kernel(tag));
  std::vector<int> out(kProbeThreads, 0);
  ProbeParams params{out.data()};
  detail::LaunchDims dims;
  dims.block[0] = kProbeThreads;
  device.launch(kernel, dims, &params, sizeof params);
  for (unsigned i = 0; i < kProbeThreads; ++i)
    if (out[i] != 3 * int(i) + 1) return false;
  return true;
}

}  // namespace dcnjit::sim::testing
