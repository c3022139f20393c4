// The precompiled shim header: GCC really uses it (its -H trace marks a used precompiled header with
// "!"), it is built once, and a compiler it cannot serve (clang), a failed build or a damaged file
// leaves kernels to compile from the header text instead of failing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/sim/precompiled_shim.h"
#include "runtime/sim/shim_files.h"
#include "tests/runtime/sim/child_process.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::sim {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;

namespace fs = std::filesystem;

// The flags a kernel is compiled with in a plain build (kernel_library.cpp), enough for GCC's
// compatibility check to mean something.
const std::vector<std::string> kFlags = {"-std=c++20", "-O1", "-fPIC", "-shared", "-fno-strict-aliasing"};

class SimPrecompiledShim : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const ShimFile& file : shim_files()) {
      fs::create_directories((dir_.path() / file.path).parent_path());
      std::ofstream(dir_.path() / file.path) << file.contents;
    }
    includes_ = {"-I", dir_.path().string(), "-isystem", DCNJIT_SIM_TEST_CUDA_INCLUDE_DIR};
  }

  ScratchDirectory dir_;
  std::vector<std::string> includes_;
  HostCompiler compiler_ = HostCompiler::from_environment();
  std::unique_ptr<detail::BinaryCache> cache_ = detail::BinaryCache::memory_only();  // holds the digests
};

TEST_F(SimPrecompiledShim, GccLoadsItWhenCompilingAKernelWithTheSameFlags) {
  const std::string identity = compiler_.identity();
  if (identity.find("clang") != std::string::npos) GTEST_SKIP() << "no precompiled shim for " << identity;
  const fs::path pch = ensure_precompiled_shim(compiler_, identity, kFlags, dir_.path(), includes_, *cache_);
  ASSERT_FALSE(pch.empty());
  ASSERT_TRUE(fs::is_regular_file(pch)) << pch;
  EXPECT_EQ(pch.parent_path(), dir_.path() / "dcnjit_sim/simt.h.gch");
  const auto built_at = fs::last_write_time(pch);

  const std::string kernel = dir_.file("kernel.cpp");
  std::ofstream(kernel) << "struct Params { int* out; };\n"
                           "extern \"C\" __global__ void k(Params p) { p.out[threadIdx.x] = 1; }\n";
  std::vector<std::string> arguments = kFlags;
  arguments.insert(arguments.end(), includes_.begin(), includes_.end());
  arguments.insert(arguments.end(), {"-H", "-include", "dcnjit_sim/simt.h", "-o", dir_.file("kernel.so"), kernel});
  EXPECT_THAT(compiler_.compile(arguments, "kernel k", ""), HasSubstr("! " + pch.string()));

  // Another request for the same flags reuses the file.
  EXPECT_EQ(ensure_precompiled_shim(compiler_, identity, kFlags, dir_.path(), includes_, *cache_), pch);
  EXPECT_EQ(fs::last_write_time(pch), built_at);
}

TEST_F(SimPrecompiledShim, NoneForClang) {
  const std::string clang = "Debian clang version 16.0.6";
  EXPECT_TRUE(ensure_precompiled_shim(compiler_, clang, kFlags, dir_.path(), includes_, *cache_).empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "dcnjit_sim/simt.h.gch"));
}

TEST_F(SimPrecompiledShim, FailedBuildReturnsNoneAndLeavesNoFile) {
  std::vector<std::string> flags = kFlags;
  flags.push_back("-fno-such-option-in-any-compiler");
  EXPECT_TRUE(ensure_precompiled_shim(compiler_, compiler_.identity(), flags, dir_.path(), includes_, *cache_).empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "dcnjit_sim/simt.h.gch"));
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "dcnjit_sim"))
    if (!entry.is_directory()) EXPECT_EQ(entry.path().extension(), ".h") << "left behind: " << entry.path();
}

// A damaged header (truncated as by a full disk) must not fail the kernel: two processes
// (sim_cache_probe) with a work directory of their own; the first builds the header, the second finds
// it damaged (its digest no longer matches; GCC would treat it as a fatal error), deletes it and
// compiles the kernel, with a header built anew.
TEST_F(SimPrecompiledShim, DamagedFileIsDeletedAndTheKernelCompiledWithoutIt) {
  if (compiler_.identity().find("clang") != std::string::npos) GTEST_SKIP() << "no precompiled shim for clang";
  const std::map<std::string, std::string> environment = {{"DCNJIT_SIM_WORK_DIR", dir_.file("work")}};
  const std::string cache_file = dir_.file("binaries.sqlite");
  const testing::ChildResult first = testing::run_child({DCNJIT_SIM_CACHE_PROBE, cache_file, "first"}, environment);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::vector<fs::path> headers;
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "work"))
    if (entry.path().extension() == ".gch" && entry.is_regular_file()) headers.push_back(entry.path());
  ASSERT_EQ(headers.size(), 1u) << "the first process built no precompiled shim";
  fs::resize_file(headers[0], 4096);  // keeps GCC's header, so it tries to read the rest

  const testing::ChildResult second = testing::run_child({DCNJIT_SIM_CACHE_PROBE, cache_file, "second"}, environment);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("compilations=1"));
  EXPECT_TRUE(!fs::exists(headers[0]) || fs::file_size(headers[0]) > 4096) << "the damaged file was kept";
}

// GCC loads any compatible file in simt.h.gch without checking that it came from the header beside it.
// A file whose digest this user's binary cache does not record was not built by this user's dcnjit
// (here: by a process with another cache, as another user's would be): it is deleted and rebuilt,
// never used. A file the cache does record is reused as it is.
TEST_F(SimPrecompiledShim, FileNotRecordedInThisUsersCacheIsReplacedNotUsed) {
  if (compiler_.identity().find("clang") != std::string::npos) GTEST_SKIP() << "no precompiled shim for clang";
  const std::map<std::string, std::string> environment = {{"DCNJIT_SIM_WORK_DIR", dir_.file("work")}};
  const testing::ChildResult planted =
      testing::run_child({DCNJIT_SIM_CACHE_PROBE, dir_.file("someone-else.sqlite"), "first"}, environment);
  ASSERT_EQ(planted.exit_code, 0) << planted.output;
  std::vector<fs::path> headers;
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "work"))
    if (entry.path().extension() == ".gch" && entry.is_regular_file()) headers.push_back(entry.path());
  ASSERT_EQ(headers.size(), 1u) << "the first process built no precompiled shim";
  // Dated back, so that a file built anew is told apart by its time (an inode number may be reused).
  const auto planted_at = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(headers[0], planted_at);

  const std::string mine = dir_.file("mine.sqlite");
  const testing::ChildResult second = testing::run_child({DCNJIT_SIM_CACHE_PROBE, mine, "second"}, environment);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  ASSERT_TRUE(fs::exists(headers[0])) << "no precompiled shim after the second process";
  EXPECT_NE(fs::last_write_time(headers[0]), planted_at) << "the header built by another cache's process was used";
  EXPECT_EQ(detail::BinaryCache(mine).file_digest(headers[0].string()), detail::sha256_file_hex(headers[0]));

  const auto rebuilt_at = fs::last_write_time(headers[0]);
  const testing::ChildResult third = testing::run_child({DCNJIT_SIM_CACHE_PROBE, mine, "third"}, environment);
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_EQ(fs::last_write_time(headers[0]), rebuilt_at) << "this user's own header was not reused";
}

}  // namespace
}  // namespace dcnjit::sim
