// BackendImpl's algorithm resolution (shared by every backend), its default memory: host memory (cpu
// and sim backends; the cuda backend overrides the memory functions), and the default of set_counting
// (no counters).
#include "runtime/backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/host_memory.h"

namespace dcnjit::detail {

std::vector<std::string> BackendImpl::usable_algorithms(const Problem& problem) const {
  std::vector<std::string> usable, reasons;
  for (const std::string& name : algorithms()) {
    if (std::string why = cannot_implement(name, problem); why.empty()) usable.push_back(name);
    else reasons.push_back(why);
  }
  if (usable.empty())
    throw Error(ErrorCode::Unsupported, fmt::format("{} backend: no algorithm can run '{}': {}", to_string(kind()),
                                                    problem.to_string(), fmt::join(reasons, "; ")));
  return usable;
}

Config BackendImpl::default_config(const Problem& problem) const {
  return knobs(usable_algorithms(problem).front()).defaults(problem);
}

Config BackendImpl::resolve(const Problem& problem, const Config& config) const {
  const std::string algorithm = config.algorithm.empty() ? usable_algorithms(problem).front() : config.algorithm;
  const KnobTable& table = knobs(algorithm);  // names the known algorithms when unknown
  if (std::string why = cannot_implement(algorithm, problem); !why.empty())
    throw Error(ErrorCode::Unsupported, fmt::format("{} backend, algorithm {}: {}", to_string(kind()), algorithm, why));
  return table.resolve(problem, config);
}

std::vector<std::string> offered_algorithms(const std::vector<std::string>& all, const EngineOptions& options,
                                            Backend backend) {
  if (options.algorithm.empty()) return all;
  if (std::find(all.begin(), all.end(), options.algorithm) == all.end())
    throw Error(ErrorCode::InvalidArgument, fmt::format("algorithm: '{}' is not one of the {} backend's ({})",
                                                        options.algorithm, to_string(backend), fmt::join(all, ", ")));
  return {options.algorithm};
}

void* allocate_host_memory(std::size_t bytes, std::string_view who) {
  // Checked before rounding up: a size near SIZE_MAX would wrap to a tiny block.
  check_host_bytes(who, bytes);
  // 64-byte alignment: whole cache lines, and enough for any vector load the kernels issue.
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw host_allocation_error(who, bytes, "out of memory");
  std::memset(p, 0, rounded);
  return p;
}

void* BackendImpl::allocate(std::size_t bytes) { return allocate_host_memory(bytes, "allocate"); }

void BackendImpl::release(void* pointer) noexcept { std::free(pointer); }

void BackendImpl::set_counting(bool enabled) {
  if (enabled)
    throw Error(ErrorCode::Unsupported,
                fmt::format("the {} backend has no GPU memory counters (only sim counts)", to_string(kind())));
}

void BackendImpl::copy_to_device(void* device, const void* host, std::size_t bytes, void* /*stream*/) {
  if (bytes) std::memcpy(device, host, bytes);
}

void BackendImpl::copy_to_host(void* host, const void* device, std::size_t bytes, void* /*stream*/) {
  if (bytes) std::memcpy(host, device, bytes);
}

}  // namespace dcnjit::detail
