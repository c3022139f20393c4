// Test support for the sim backend: compiles CUDA source strings through the sim's real compile
// path (KernelLibrary) and launches them on a SimKernelDevice. Kernels are cached per process (and
// on disk by content), so several tests can share one compiled kernel.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "generator/kernel_source.h"
#include "runtime/sim/sim_kernel_device.h"

namespace dcnjit::sim::testing {

// One device for the whole test executable: two workers, so blocks really run concurrently even on
// a one-core CI runner (the isolation and atomic tests depend on that).
inline SimKernelDevice& shared_device() {
  static SimKernelDevice device(SimOptions{.threads = 2, .order = ThreadOrder::in_order()});
  return device;
}

// The kernel `name` of `source`, whose one argument is `param_type`.
inline detail::LoadedKernel* load_kernel(const std::string& name, const std::string& source,
                                         const std::string& param_type = "Params") {
  gen::KernelSource kernel;
  kernel.name = name;
  kernel.source = source;
  kernel.param_type = param_type;
  return shared_device().load(kernel);
}

template <typename Params>
void launch(detail::LoadedKernel* kernel, unsigned grid, unsigned block, const Params& params,
            unsigned dynamic_shared_bytes = 0, ThreadOrder order = ThreadOrder::in_order()) {
  detail::LaunchDims dims;
  dims.grid[0] = grid;
  dims.block[0] = block;
  dims.dynamic_shared_bytes = dynamic_shared_bytes;
  shared_device().set_thread_order(order);
  shared_device().launch(kernel, dims, &params, sizeof(Params));
}

// The orders every order-independent kernel is checked under.
inline std::vector<ThreadOrder> all_orders() {
  return {ThreadOrder::in_order(), ThreadOrder::reversed(), ThreadOrder::random(7), ThreadOrder::random(12345)};
}

}  // namespace dcnjit::sim::testing
