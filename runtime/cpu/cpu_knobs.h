// The knob table of the cpu backend's algorithm ("im2col": sampling into columns, then BLAS GEMMs;
// runtime/cpu/README.md):
//
//   step   images per chunk: the column buffer holds `step` images (1 to N)
//   tile   output pixels per im2col tile (0 = the whole image): smaller tiles keep the columns in cache
#pragma once

#include "core/knob_table.h"
#include "runtime/cpu/dcn_cpu.h"

namespace dcnjit::cpu {

const KnobTable& cpu_knobs();

// The pass parameters of a config resolved against cpu_knobs().
CpuConfig cpu_config_of(const Config& config);

}  // namespace dcnjit::cpu
