// KernelSource: what the generator hands the runtime for one kernel. The source is a complete CUDA
// translation unit that includes the templates (templates/*.cuh and algorithms/*/*.cuh, reachable by
// those paths; generator/template_library.h has their text); the same text is compiled by NVRTC (cuda
// backend) and by the host compiler against the SIMT shim (sim backend).
#pragma once

#include <string>

namespace dcnjit::gen {

struct KernelSource {
  std::string name;        // spells the specialization; also the extern "C" __global__ entry point
  std::string family;      // KernelSpec::family: "im2col", "col2im_coord", ...
  std::string source;      // the generated translation unit
  std::string param_type;  // the entry point takes exactly one argument of this type, by value
  int block_threads = 256;
  int dynamic_shared_bytes = 0;
};

}  // namespace dcnjit::gen
