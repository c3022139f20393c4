// shared_object_check: a whole shared object passes; the same bytes cut anywhere, and bytes that are
// no ELF at all, are rejected with a reason, so a damaged cache entry never reaches dlopen.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <exception>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/sim/shared_object_check.h"

namespace dcnjit::sim {
namespace {

using ::testing::HasSubstr;

// The bytes of libstdc++ (loaded in every test process; found through one of its functions): a
// real shared object with many segments and sections, built by the system's toolchain.
std::string libstdcxx_bytes() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&std::terminate), &info) || !info.dli_fname) return {};
  std::ifstream in(info.dli_fname, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(SimSharedObjectCheck, WholeLibraryPasses) {
  const std::string library = libstdcxx_bytes();
  ASSERT_GT(library.size(), 100000u);
  EXPECT_EQ(shared_object_problem(library), "");
}

TEST(SimSharedObjectCheck, TruncatedLibraryIsRejectedWhereverItIsCut) {
  const std::string library = libstdcxx_bytes();
  ASSERT_GT(library.size(), 100000u);
  for (std::size_t length : {std::size_t(32), std::size_t(256), std::size_t(4096), library.size() / 2,
                             library.size() - 1}) {
    const std::string problem = shared_object_problem(std::string_view(library).substr(0, length));
    EXPECT_NE(problem, "") << "cut at " << length << " of " << library.size();
  }
  EXPECT_THAT(shared_object_problem(std::string_view(library).substr(0, library.size() / 2)), HasSubstr("truncated"));
}

TEST(SimSharedObjectCheck, BytesThatAreNoSharedObjectAreRejected) {
  EXPECT_THAT(shared_object_problem(""), HasSubstr("too few"));
  EXPECT_THAT(shared_object_problem(std::string(128, 'x')), HasSubstr("no ELF magic"));
  std::string relocatable = libstdcxx_bytes();
  ASSERT_GT(relocatable.size(), 64u);
  relocatable[16] = 1;  // e_type = ET_REL (little endian): an object file, not a library
  relocatable[17] = 0;
  EXPECT_THAT(shared_object_problem(relocatable), HasSubstr("not a shared object"));
}

}  // namespace
}  // namespace dcnjit::sim
