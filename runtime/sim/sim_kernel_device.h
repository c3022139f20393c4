// SimKernelDevice: the KernelDevice (algorithms/kernel_device.h) of the sim backend. Kernels are the
// generated CUDA source compiled by the host compiler against the SIMT shim (KernelLibrary), run
// block by block on a pool of worker threads (GridRunner); GEMMs go to OpenBLAS; memory is host
// memory; everything is synchronous, so synchronize() has nothing to wait for.
//
// Not thread-safe: one launch at a time (the backend serializes passes).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/kernel_device.h"
#include "runtime/sim/grid_runner.h"
#include "runtime/sim/kernel_library.h"
#include "runtime/sim/thread_order.h"

namespace dcnjit::sim {

struct SimOptions {
  unsigned threads = 0;                                  // worker threads for blocks; 0 = all cores
  ThreadOrder order = ThreadOrder::from_environment();  // thread order between synchronization points
  // Where compiled kernels persist; null: a BinaryCache at default_binary_cache_path().
  std::shared_ptr<detail::BinaryCache> binary_cache = nullptr;
};

// What load() returns: the compiled kernel plus what launches are checked against.
class SimLoadedKernel final : public detail::LoadedKernel {
 public:
  explicit SimLoadedKernel(SimKernel kernel) : kernel_(std::move(kernel)) {}
  const SimKernel& kernel() const { return kernel_; }

 private:
  SimKernel kernel_;
};

class SimKernelDevice final : public detail::KernelDevice {
 public:
  // Limits of the GPUs the kernels are written for (sm_80/sm_90); a launch beyond them fails here as
  // it would on the GPU, rather than working in the sim only.
  static constexpr unsigned kMaxBlockThreads = 1024;
  static constexpr unsigned kMaxDynamicSharedBytes = 227u * 1024u;
  static constexpr unsigned kMaxGridX = 0x7fffffffu;
  static constexpr unsigned kMaxGridYZ = 65535;

  explicit SimKernelDevice(SimOptions options = {}, HostCompiler compiler = HostCompiler::from_environment());

  void set_thread_order(ThreadOrder order) { order_ = order; }
  const ThreadOrder& thread_order() const { return order_; }
  unsigned threads() const { return runner_.threads(); }
  KernelLibrary& library() { return library_; }

  void* allocate(std::size_t bytes) override;
  void release(void* pointer) noexcept override;
  void fill_zero(void* pointer, std::size_t bytes) override;

  // Same source (and name/param type) -> the same LoadedKernel, compiled once.
  detail::LoadedKernel* load(const gen::KernelSource& kernel) override;
  // Throws Error(LaunchError) for dimensions beyond the GPU limits above, a parameter block of the
  // wrong size, and everything the block executor reports (divergent barriers, __trap()).
  void launch(detail::LoadedKernel* kernel, const detail::LaunchDims& dims, const void* params,
              std::size_t params_bytes) override;
  void gemm(const detail::GemmDesc& desc) override;

  // The sim models an H100 (sm_90): the limits above, its SM count and L2 size (the heuristic's
  // defaults depend on them), and one GEMM implementation.
  const detail::DeviceTraits& traits() const override { return traits_; }
  void synchronize() override {}

 private:
  detail::DeviceTraits traits_;
  ThreadOrder order_;
  GridRunner runner_;
  KernelLibrary library_;
  std::map<std::string, std::unique_ptr<SimLoadedKernel>> kernels_;  // by name + source
};

}  // namespace dcnjit::sim
