// KernelSource: what the generator hands the runtime for one kernel of one specialization.
// The source is a complete CUDA translation unit that includes the templates (templates/*.cuh,
// reachable as "templates/<file>.cuh"; generator/template_library.h has their text); the same text
// is compiled by NVRTC (cuda backend) and by the host compiler against the SIMT shim (sim backend).
#pragma once

#include <cstdint>
#include <string>

namespace dcnjit::gen {

enum class KernelKind {
  im2col,        // x, offset, mask -> columns
  col2im,        // dcol -> grad_x (atomic scatter)
  coord,         // dcol, x -> grad_offset, grad_mask
  col2im_coord,  // both of the above in one pass over dcol
  bias_grad,     // grad_y -> grad_bias
  cast,          // f32 accumulator -> f16/bf16 tensor (grad_x, grad_weight)
  reduce,        // sum of per-image grad_weight partials into an f32 accumulator (f16/bf16)
};
const char* to_string(KernelKind kind);

struct KernelSource {
  std::string name;        // spells the specialization; also the extern "C" __global__ entry point
  std::string source;      // the generated translation unit
  std::string param_type;  // the entry point takes exactly one argument of this type, by value
  KernelKind kind = KernelKind::im2col;
  int block_threads = 256;
  int elems_per_thread = 1;
  int dynamic_shared_bytes = 0;
};

}  // namespace dcnjit::gen
