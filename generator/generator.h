// The generator: KernelSpec -> KernelSource. Output is deterministic (same spec, byte-identical source)
// and readable: a comment header describing the specialization, the template include, the compile-time
// Spec alias and an extern "C" __global__ entry named after the specialization (KernelSpec::name()),
// which calls the template function with the kernel's one by-value parameter struct.
//
// Which kernels a pass launches is the algorithm's business (algorithms/algorithm.h), not the
// generator's: `dcnjit emit`, the NVRTC sweep and the launch sequence all take that list from the
// algorithm.
#pragma once

#include "generator/kernel_source.h"
#include "generator/kernel_spec.h"

namespace dcnjit::gen {

KernelSource generate_kernel(const KernelSpec& spec);

}  // namespace dcnjit::gen
