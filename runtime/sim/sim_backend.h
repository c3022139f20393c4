// The sim backend (`--backend sim`): gen's KernelPipeline over a SimKernelDevice, so the same
// generated kernels the cuda backend launches run on the CPU with the same semantics and outputs.
// Tensors are host memory (the BackendImpl defaults).
//
// make_sim_backend(options) (runtime/backend.h) takes the thread order from DCNJIT_SIM_ORDER; tests
// that sweep orders use the overload below.
#pragma once

#include <memory>

#include "runtime/backend.h"
#include "runtime/sim/sim_kernel_device.h"

namespace dcnjit::detail {

// `sim.threads` is ignored: options.threads (0 = all cores) decides, as for the cpu backend.
std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options, const sim::SimOptions& sim);

}  // namespace dcnjit::detail
