// core/host_memory and allocate_host_memory: a host allocation that cannot succeed is an error naming
// what it was for and how many bytes, before anything is allocated or touched.
#include "core/host_memory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <new>
#include <vector>

namespace dcnjit::detail {
namespace {

using ::testing::HasSubstr;

TEST(HostMemory, ByteCountsReadAsUnitsAndExactBytes) {
  EXPECT_EQ(byte_count_text(16), "16 bytes");
  EXPECT_EQ(byte_count_text(std::size_t(3) << 29), "1.5 GiB (1610612736 bytes)");
}

TEST(HostMemory, MoreThanTheMachineHasIsRefusedBeforeAllocating) {
  bool called = false;
  try {
    allocate_host("x", std::size_t(1) << 60, [&] { called = true; });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_THAT(e.what(), HasSubstr("x: cannot allocate 1.0 EiB (1152921504606846976 bytes) of host memory"));
    EXPECT_THAT(e.what(), HasSubstr("this machine has"));
  }
  EXPECT_FALSE(called);
}

TEST(HostMemory, BadAllocAndLengthErrorNameTheAllocation) {
  EXPECT_THAT([] {
    try {
      allocate_host("grad_y", 64, []() -> int { throw std::bad_alloc(); });
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), HasSubstr("grad_y: cannot allocate 64 bytes of host memory (out of memory)"));
  EXPECT_THROW(allocate_host("v", 64, [] { return std::vector<char>(std::numeric_limits<std::size_t>::max()); }),
               Error);
}

}  // namespace
}  // namespace dcnjit::detail
