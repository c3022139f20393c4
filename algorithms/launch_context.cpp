#include "algorithms/launch_context.h"

#include <algorithm>

#include "generator/generator.h"

namespace dcnjit::algo {

LaunchContext::LaunchContext(detail::KernelDevice& device) : device_(device) {}

LaunchContext::~LaunchContext() {
  if (own_workspace_) device_.release(own_workspace_);
}

detail::LoadedKernel* LaunchContext::kernel(const gen::KernelSpec& spec) {
  const std::string name = spec.name();
  if (auto it = kernels_.find(name); it != kernels_.end()) return it->second;
  detail::LoadedKernel* loaded = device_.load(gen::generate_kernel(spec));
  kernels_.emplace(name, loaded);
  return loaded;
}

detail::LaunchDims LaunchContext::grid_stride(int64_t work, int block_threads, int items) const {
  detail::LaunchDims dims;
  const int64_t per_block = int64_t(block_threads) * std::max(items, 1);
  const int64_t blocks = std::max<int64_t>(1, (work + per_block - 1) / per_block);
  dims.grid[0] = unsigned(std::min<int64_t>(blocks, traits().max_grid_x));
  dims.block[0] = unsigned(block_threads);
  return dims;
}

void* LaunchContext::workspace(void* caller, std::size_t caller_bytes, std::size_t needed) {
  if (caller && caller_bytes >= needed) return caller;
  if (own_workspace_bytes_ < needed) {
    if (own_workspace_) device_.release(own_workspace_);
    own_workspace_ = nullptr;
    own_workspace_bytes_ = 0;
    own_workspace_ = device_.allocate(needed);
    own_workspace_bytes_ = needed;
  }
  return own_workspace_;
}

detail::ScopedPhase LaunchContext::phase(const char* name, double bytes, double flops, double atomics) {
  return detail::ScopedPhase(sink_, name, bytes, flops, atomics, [this] { device_.synchronize(); },
                             device_.counter_totals());
}

}  // namespace dcnjit::algo
