// BackendImpl's default memory: host memory (cpu and sim backends). The cuda backend overrides these.
// Also the default of set_counting (no counters).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "runtime/backend.h"

namespace dcnjit {

namespace detail {

void* allocate_host_memory(std::size_t bytes, std::string_view who) {
  // 64-byte alignment: whole cache lines, and enough for any vector load the kernels issue.
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error(ErrorCode::LaunchError, fmt::format("{}: out of host memory ({} bytes)", who, bytes));
  std::memset(p, 0, rounded);
  return p;
}

void* BackendImpl::allocate(std::size_t bytes) { return allocate_host_memory(bytes, "allocate"); }

void BackendImpl::release(void* pointer) { std::free(pointer); }

void BackendImpl::set_counting(bool enabled) {
  if (enabled)
    throw Error(ErrorCode::Unsupported,
                fmt::format("the {} backend has no GPU memory counters (only sim counts)", to_string(kind())));
}

void BackendImpl::copy_to_device(void* device, const void* host, std::size_t bytes) {
  if (bytes) std::memcpy(device, host, bytes);
}

void BackendImpl::copy_to_host(void* host, const void* device, std::size_t bytes) {
  if (bytes) std::memcpy(host, device, bytes);
}

}  // namespace detail

}  // namespace dcnjit
