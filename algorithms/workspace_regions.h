// Sizes of the regions the algorithms carve their workspace into. Every region starts on a 256-byte
// boundary (cuBLASLt and vector loads want aligned operands, and an 8-byte f64 region after an odd
// number of 4-byte counters would be misaligned), and every size is overflow-checked
// (core/checked_size.h): a chunk of images or a set of partial sums can overflow where one tensor does
// not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "core/checked_size.h"

namespace dcnjit::algo {

inline constexpr std::size_t kWorkspaceAlignment = 256;

// `bytes` rounded up to the alignment.
inline std::size_t aligned_bytes(const char* what, std::size_t bytes) {
  return detail::checked_sum(what, bytes, kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
}

// A region of product(factors) elements of `element` bytes, rounded up to the alignment.
inline std::size_t region_bytes(const char* what, std::initializer_list<int64_t> factors, std::size_t element) {
  return aligned_bytes(what, detail::checked_bytes(what, detail::checked_product(what, factors), element));
}

}  // namespace dcnjit::algo
