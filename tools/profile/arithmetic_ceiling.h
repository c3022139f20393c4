// The host core's arithmetic ceiling: what its vector units do per second with nothing but independent
// multiply-add chains in registers (no loads, no stores). No GEMM on the machine beats it, so a pass's
// FLOPs divided by it is a floor under the pass that no GEMM library or kernel of ours can go below:
// the yardstick for "how far from the hardware is this pass" that a library's own GEMM peak is not.
#pragma once

#include <string>

#include "runtime/cpu/cpu_knobs.h"

namespace dcnjit::profile {

struct Ceiling {
  double gflops = 0;   // 0 = not measured (no x86-64 vector FMA here)
  std::string method;  // what ran, for the report
};

// The ceiling of the arithmetic a cpu pass runs in: f32 or f64 FMAs (AVX-512, else AVX2), or bf16 dot
// products with f32 accumulation (vdpbf16ps), on `threads` threads at once, best of a few runs.
Ceiling arithmetic_ceiling(cpu::GemmPath path, int threads);

}  // namespace dcnjit::profile
