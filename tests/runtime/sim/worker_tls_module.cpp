// A stand-in for a sim kernel library: a small thread_local like the shim's built-ins (threadIdx,
// blockIdx), in a library loaded with dlopen, so every thread that touches it gets a dynamic TLS block.
#include <cstdint>

namespace {
thread_local std::uint32_t block_index[4];
}  // namespace

extern "C" std::uint32_t* touch_block_index() {
  block_index[0] += 1;
  return block_index;
}
