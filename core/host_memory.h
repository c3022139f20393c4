// Host memory for tensors whose size comes from the user: a clear error naming the tensor and the bytes
// instead of std::bad_alloc, and no attempt at all when the machine cannot have that much memory (an
// allocation that the kernel overcommits would only fail later, when its pages are touched, by the OOM
// killer ending the process).
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dcnjit/error.h"

namespace dcnjit::detail {

// "1.5 GiB (1610612736 bytes)".
std::string byte_count_text(std::size_t bytes);

// Error(LaunchError) "<what>: cannot allocate <bytes> of host memory (...)".
Error host_allocation_error(std::string_view what, std::size_t bytes, std::string_view why);

// Throws host_allocation_error when `bytes` exceed this machine's RAM plus swap.
void check_host_bytes(std::string_view what, std::size_t bytes);

// check_host_bytes, then allocate(); std::bad_alloc and std::length_error from it become
// host_allocation_error naming `what`.
template <typename Allocate>
decltype(auto) allocate_host(std::string_view what, std::size_t bytes, Allocate&& allocate) {
  check_host_bytes(what, bytes);
  try {
    return allocate();
  } catch (const std::bad_alloc&) {
    throw host_allocation_error(what, bytes, "out of memory");
  } catch (const std::length_error&) {
    throw host_allocation_error(what, bytes, "too large for a vector");
  }
}

}  // namespace dcnjit::detail
