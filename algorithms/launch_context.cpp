#include "algorithms/launch_context.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "dcnjit/error.h"
#include "generator/generator.h"

namespace dcnjit::algo {

LaunchContext::LaunchContext(detail::KernelDevice& device, RunOptions options)
    : device_(device), options_(options) {}

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
    try {
      own_workspace_ = device_.allocate(needed);
    } catch (const Error& e) {
      throw Error(e.code(), fmt::format("workspace of {} bytes (columns of im2col_step images): {}", needed, e.what()));
    }
    own_workspace_bytes_ = needed;
  }
  return own_workspace_;
}

detail::ScopedPhase LaunchContext::phase(const char* name, double bytes, double flops, double atomics) {
  return detail::ScopedPhase(sink_, name, bytes, flops, atomics, [this] { device_.synchronize(); },
                             device_.counter_totals(), &phase_error_);
}

void LaunchContext::begin_pass() { phase_error_ = nullptr; }

void LaunchContext::end_pass() {
  if (std::exception_ptr error = std::exchange(phase_error_, nullptr)) std::rethrow_exception(error);
}

}  // namespace dcnjit::algo
