// The knob table of the cpu backend's algorithm ("im2col": sampling into columns, then GEMMs;
// runtime/cpu/README.md):
//
//   step   images per chunk: the layout copies of x and grad_x hold `step` images (1 to N)
//   tile   output pixels per work item and GEMM call (0 = the whole image): the forward samples a tile's
//          columns into per-thread scratch and multiplies them while they are in cache
//   gemm   the GEMM library: onednn (f32 and bf16) or openblas (f32 and f64)
#pragma once

#include "core/knob_table.h"
#include "runtime/cpu/dcn_cpu.h"

namespace dcnjit::cpu {

const KnobTable& cpu_knobs();

// The pass parameters of a config resolved against cpu_knobs().
CpuConfig cpu_config_of(const Config& config);

// The arithmetic a pass of `dtype` runs under `config`: f64 for f64; bf16 columns and GEMM inputs with f32
// accumulation for bf16 when the GEMM is oneDNN's and the CPU has AVX512-BF16; f32 otherwise (f32, f16,
// and bf16 without native support).
enum class GemmPath { f32, f64, bf16 };
GemmPath gemm_path_of(DType dtype, const CpuConfig& config);

}  // namespace dcnjit::cpu
