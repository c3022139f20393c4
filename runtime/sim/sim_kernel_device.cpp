#include "runtime/sim/sim_kernel_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "dcnjit/error.h"
#include "runtime/backend.h"
#include "runtime/sim/sim_gemm.h"

namespace dcnjit::sim {

namespace {

std::shared_ptr<detail::BinaryCache> cache_or_default(std::shared_ptr<detail::BinaryCache> cache) {
  return cache ? std::move(cache) : std::make_shared<detail::BinaryCache>(detail::default_binary_cache_path());
}

detail::DeviceTraits modelled_traits() {
  detail::DeviceTraits traits;
  traits.backend = Backend::sim;
  traits.arch = 90;
  traits.sm_count = 132;
  traits.l2_bytes = std::size_t(50) << 20;
  traits.max_grid_x = SimKernelDevice::kMaxGridX;
  traits.max_dynamic_shared_bytes = SimKernelDevice::kMaxDynamicSharedBytes;
  traits.gemm_algorithms = 1;
  return traits;
}

}  // namespace

const SimKernel& SimLoadedKernel::counting_kernel(KernelLibrary& library) {
  if (!counting_)
    counting_ = std::make_unique<SimKernel>(library.load(source_.name, source_.source, source_.param_type, true));
  return *counting_;
}

SimKernelDevice::SimKernelDevice(SimOptions options, HostCompiler compiler)
    : traits_(modelled_traits()),
      order_(options.order),
      runner_(options.threads),
      library_(std::move(compiler), cache_or_default(std::move(options.binary_cache))),
      wmma_(WmmaLayouts::for_seed(options.wmma_permutation_seed)),
      counting_(options.counting) {}

void SimKernelDevice::set_wmma_permutation(uint64_t seed) {
  if (seed != wmma_.seed) wmma_ = WmmaLayouts::for_seed(seed);
}

void* SimKernelDevice::allocate(std::size_t bytes) {
  void* pointer = detail::allocate_host_memory(bytes, "sim");
  allocations_[pointer] = bytes;
  return pointer;
}

void SimKernelDevice::release(void* pointer) noexcept {
  allocations_.erase(pointer);
  std::free(pointer);
}

void SimKernelDevice::track_global_memory(const void* begin, std::size_t bytes) {
  if (begin && bytes) tracked_.emplace(begin, bytes);
}

void SimKernelDevice::untrack_global_memory(const void* begin) {
  if (auto it = tracked_.find(begin); it != tracked_.end()) tracked_.erase(it);
}

std::vector<dcnjit_sim::MemoryRegion> SimKernelDevice::global_regions() const {
  std::vector<dcnjit_sim::MemoryRegion> ranges;
  auto add = [&](const void* begin, std::size_t bytes) {
    const auto start = reinterpret_cast<uintptr_t>(begin);
    ranges.push_back({start, start + bytes});
  };
  for (const auto& [begin, bytes] : allocations_) add(begin, bytes);
  for (const auto& [begin, bytes] : tracked_) add(begin, bytes);
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  // Disjoint: overlapping ranges (a tensor inside an allocation) become one region.
  std::vector<dcnjit_sim::MemoryRegion> merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && range.begin < merged.back().end) merged.back().end = std::max(merged.back().end, range.end);
    else merged.push_back(range);
  }
  return merged;
}

void SimKernelDevice::fill_zero(void* pointer, std::size_t bytes) {
  if (bytes) std::memset(pointer, 0, bytes);
}

detail::LoadedKernel* SimKernelDevice::load(const gen::KernelSource& source) {
  std::string key = source.name + '\0' + source.param_type + '\0' + source.source;
  auto& slot = kernels_[key];
  if (!slot) {
    try {
      slot = std::make_unique<SimLoadedKernel>(library_.load(source.name, source.source, source.param_type), source);
    } catch (...) {
      kernels_.erase(key);
      throw;
    }
  }
  return slot.get();
}

void SimKernelDevice::launch(detail::LoadedKernel* loaded, const detail::LaunchDims& dims, const void* params,
                             std::size_t params_bytes) {
  auto* sim_kernel = dynamic_cast<SimLoadedKernel*>(loaded);
  if (!sim_kernel) throw Error(ErrorCode::Internal, "sim: launch of a kernel that this device did not load");
  const SimKernel& kernel = counting_ ? sim_kernel->counting_kernel(library_) : sim_kernel->kernel();
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::LaunchError, fmt::format("sim: launch of {}: {}", kernel.name, what));
  };
  const uint64_t block_threads = uint64_t(dims.block[0]) * dims.block[1] * dims.block[2];
  if (block_threads == 0 || block_threads > kMaxBlockThreads || dims.block[2] > 64)
    fail(fmt::format("block ({},{},{}) is outside the limits (1 to {} threads, z <= 64)", dims.block[0],
                     dims.block[1], dims.block[2], kMaxBlockThreads));
  if (dims.grid[0] == 0 || dims.grid[1] == 0 || dims.grid[2] == 0 || dims.grid[0] > kMaxGridX ||
      dims.grid[1] > kMaxGridYZ || dims.grid[2] > kMaxGridYZ)
    fail(fmt::format("grid ({},{},{}) is outside the limits (x in [1, {}], y and z in [1, {}])", dims.grid[0],
                     dims.grid[1], dims.grid[2], kMaxGridX, kMaxGridYZ));
  if (dims.dynamic_shared_bytes > kMaxDynamicSharedBytes)
    fail(fmt::format("{} bytes of dynamic shared memory exceed the limit of {}", dims.dynamic_shared_bytes,
                     kMaxDynamicSharedBytes));
  if (params_bytes != kernel.param_bytes)
    fail(fmt::format("the parameter block has {} bytes, the kernel's parameter type has {}", params_bytes,
                     kernel.param_bytes));

  GridLaunch launch;
  launch.kernel_name = kernel.name;
  launch.entry = kernel.entry;
  launch.params = params;
  launch.grid = {dims.grid[0], dims.grid[1], dims.grid[2]};
  launch.block = {dims.block[0], dims.block[1], dims.block[2]};
  launch.dynamic_shared_bytes = dims.dynamic_shared_bytes;
  launch.order = order_;
  dcnjit_sim::LaunchContext context{};
  for (unsigned role = 0; role < dcnjit_sim::wmma_role_count; ++role) context.wmma_maps[role] = wmma_.maps[role].data();
  launch.context = &context;
  if (!counting_) {
    runner_.run(launch);
    return;
  }
  LaunchCounting counting(global_regions());
  context.regions = counting.regions().data();
  context.region_count = uint32_t(counting.regions().size());
  launch.counting = &counting;
  detail::KernelCounters counters = runner_.run(launch);
  counters.global_unique_sectors = counting.unique_sectors();
  last_launch_ = counters;
  totals_.counters += counters;
  ++totals_.launches;
}

void SimKernelDevice::gemm(const detail::GemmDesc& desc) {
  run_gemm(desc);
  if (counting_) {
    totals_.counters += gemm_counters(desc);
    ++totals_.modeled_gemms;
  }
}

}  // namespace dcnjit::sim
