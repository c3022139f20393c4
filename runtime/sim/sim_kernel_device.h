// SimKernelDevice: the KernelDevice (algorithms/kernel_device.h) of the sim backend. Kernels are the
// generated CUDA source compiled by the host compiler against the SIMT shim (KernelLibrary), run
// block by block on a pool of worker threads (GridRunner); GEMMs go to OpenBLAS; memory is host
// memory; everything is synchronous, so synchronize() has nothing to wait for.
//
// Counting (set_counting): launches run the counting variant of each kernel and add what they do to
// a GPU's memory system to counter_totals() (runtime/sim/README.md "Counters"). Global memory is
// what the device allocated plus what track_global_memory() names (the sim backend names the
// tensors of each pass); every other address a kernel touches is local and not counted. Off by
// default; when off nothing is logged and the plain kernels run.
//
// Not thread-safe: one launch at a time (the backend serializes passes).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/kernel_device.h"
#include "core/phases.h"
#include "runtime/sim/grid_runner.h"
#include "runtime/sim/kernel_library.h"
#include "runtime/sim/thread_order.h"
#include "runtime/sim/wmma_layout.h"

namespace dcnjit::sim {

struct SimOptions {
  unsigned threads = 0;                                  // worker threads for blocks; 0 = all cores
  ThreadOrder order = ThreadOrder::from_environment();  // thread order between synchronization points
  // Where compiled kernels persist; null: a BinaryCache at default_binary_cache_path().
  std::shared_ptr<detail::BinaryCache> binary_cache = nullptr;
  bool counting = false;  // count from the start (set_counting)
  // Permutation of the WMMA fragment element order (wmma_layout.h); 0 = plain order.
  uint64_t wmma_permutation_seed = wmma_permutation_from_environment();
};

// What load() returns: the compiled kernel plus what launches are checked against. The counting
// variant is compiled on its first counting launch.
class SimLoadedKernel final : public detail::LoadedKernel {
 public:
  SimLoadedKernel(SimKernel kernel, gen::KernelSource source)
      : kernel_(std::move(kernel)), source_(std::move(source)) {}
  const SimKernel& kernel() const { return kernel_; }
  const SimKernel& counting_kernel(KernelLibrary& library);

 private:
  SimKernel kernel_;
  gen::KernelSource source_;
  std::unique_ptr<SimKernel> counting_;
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
  void set_wmma_permutation(uint64_t seed);
  uint64_t wmma_permutation() const { return wmma_.seed; }
  unsigned threads() const { return runner_.threads(); }
  KernelLibrary& library() { return library_; }

  // Counting (see above). Turning it on or off keeps the totals; reset_counter_totals() clears them.
  void set_counting(bool on) { counting_ = on; }
  bool counting() const { return counting_; }
  const detail::CounterTotals* counter_totals() const override { return counting_ ? &totals_ : nullptr; }
  void reset_counter_totals() { totals_ = {}; }
  // The counters of the last counting launch.
  const detail::KernelCounters& last_launch_counters() const { return last_launch_; }
  // Memory the counters treat as global besides this device's allocations, until untracked. Ranges
  // may overlap (they are merged); tracking the same pointer twice needs two untracks.
  void track_global_memory(const void* begin, std::size_t bytes);
  void untrack_global_memory(const void* begin);

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
  std::vector<dcnjit_sim::MemoryRegion> global_regions() const;

  detail::DeviceTraits traits_;
  ThreadOrder order_;
  GridRunner runner_;
  KernelLibrary library_;
  std::map<std::string, std::unique_ptr<SimLoadedKernel>> kernels_;  // by name + source
  WmmaLayouts wmma_;
  bool counting_ = false;
  detail::CounterTotals totals_;
  detail::KernelCounters last_launch_;
  std::map<const void*, std::size_t> allocations_;
  std::multimap<const void*, std::size_t> tracked_;
};

}  // namespace dcnjit::sim
