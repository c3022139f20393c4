// Sizes as products of dimensions, checked. Every dimension of a Problem is bounded on its own, but
// their products are not: N*C*H*W of four large dimensions wraps around int64, and a wrapped size
// allocates too little and then writes past it. These helpers turn such a product into an
// Error(InvalidArgument) naming what it measures.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "dcnjit/error.h"

namespace dcnjit::detail {

// The product of `factors` (none negative), or Error(InvalidArgument) "<what>: <a>*<b>*... does not fit in
// 64 bits".
inline int64_t checked_product(std::string_view what, std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  bool overflow = false;
  for (int64_t f : factors) {
    if (f < 0) throw Error(ErrorCode::InvalidArgument, fmt::format("{}: negative size {}", what, f));
    overflow = overflow || __builtin_mul_overflow(product, f, &product);
  }
  if (overflow) {
    std::string text;
    for (int64_t f : factors) {
      if (!text.empty()) text += '*';
      text += std::to_string(f);
    }
    throw Error(ErrorCode::InvalidArgument, fmt::format("{}: {} elements do not fit in 64 bits", what, text));
  }
  return product;
}

// `elements` of `element_size` bytes as a byte count that fits in int64 (so in size_t and ptrdiff_t too).
inline std::size_t checked_bytes(std::string_view what, int64_t elements, std::size_t element_size) {
  int64_t bytes = 0;
  if (elements < 0 || __builtin_mul_overflow(elements, int64_t(element_size), &bytes))
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{}: {} elements of {} bytes do not fit in 64 bits", what, elements, element_size));
  return std::size_t(bytes);
}

// a + b for sizes, checked like the above.
inline std::size_t checked_sum(std::string_view what, std::size_t a, std::size_t b) {
  std::size_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum) || sum > std::size_t(std::numeric_limits<int64_t>::max()))
    throw Error(ErrorCode::InvalidArgument, fmt::format("{}: {} + {} bytes do not fit in 64 bits", what, a, b));
  return sum;
}

}  // namespace dcnjit::detail
