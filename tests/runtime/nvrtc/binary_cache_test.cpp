// The binary cache's hit and miss paths (counted NVRTC invocations prove a hit compiles nothing),
// persistence across instances (a second process), and graceful fallback to compiling when the
// SQLite file is corrupt, locked or cannot be created.
#include "runtime/binary_cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "algorithms/im2col/im2col_kernels.h"
#include "generator/generator.h"
#include "runtime/nvrtc/nvrtc_compiler.h"

namespace dcnjit {
namespace {

namespace fs = std::filesystem;
using detail::BinaryCache;

class BinaryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("dcnjit_binary_cache_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, ignored);
    fs::remove_all(dir_, ignored);
  }
  std::string db_path() const { return (dir_ / "binaries.sqlite").string(); }

  // A small, quick-to-compile kernel; `channels` makes distinct kernels.
  static gen::KernelSource kernel(int channels = 4) {
    const Problem p = Problem::parse("N1 C" + std::to_string(channels) + " H6 W6 Co4 k3x3 p1x1 nomask v2 f32");
    return gen::generate_kernel(algo::im2col::sampling_kernel(p, {}, algo::im2col::SamplingKind::im2col));
  }

  fs::path dir_;
};

TEST_F(BinaryCacheTest, MissCompilesThenHitDoesNotCallNvrtc) {
  BinaryCache cache(db_path());
  ASSERT_TRUE(cache.persistent()) << cache.persistence_error();
  const auto before = nvrtc::compile_invocations();
  const nvrtc::CompiledKernel first = nvrtc::compile(kernel(), 80, cache);
  EXPECT_EQ(nvrtc::compile_invocations(), before + 1);
  EXPECT_FALSE(first.from_cache);

  const nvrtc::CompiledKernel second = nvrtc::compile(kernel(), 80, cache);
  EXPECT_EQ(nvrtc::compile_invocations(), before + 1) << "a cache hit called NVRTC";
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.binary, first.binary);
  EXPECT_EQ(second.entry, first.entry);
  EXPECT_EQ(second.resources.registers, first.resources.registers);  // the log is cached too
  EXPECT_EQ(cache.stats().memory_hits, 1u);

  // Another target is another key.
  nvrtc::compile(kernel(), 90, cache);
  EXPECT_EQ(nvrtc::compile_invocations(), before + 2);
}

TEST_F(BinaryCacheTest, SecondInstanceOnTheSameFileHitsTheDisk) {
  nvrtc::CompiledKernel first;
  {
    BinaryCache writer(db_path());
    first = nvrtc::compile(kernel(), 80, writer);
  }
  BinaryCache reader(db_path());  // what a second process sees
  const auto before = nvrtc::compile_invocations();
  const nvrtc::CompiledKernel again = nvrtc::compile(kernel(), 80, reader);
  EXPECT_EQ(nvrtc::compile_invocations(), before);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.binary, first.binary);  // the cubin's bytes (with NULs) survive the round trip
  EXPECT_EQ(again.format, detail::BinaryFormat::cubin);
  EXPECT_EQ(reader.stats().disk_hits, 1u);
}

TEST_F(BinaryCacheTest, CorruptFileIsMovedAsideAndCompilingStillWorks) {
  std::ofstream(db_path(), std::ios::binary) << "this is not an SQLite database, just some bytes to trip on";
  BinaryCache cache(db_path());
  EXPECT_TRUE(cache.persistent()) << cache.persistence_error();
  EXPECT_TRUE(fs::exists(db_path() + ".corrupt"));
  const nvrtc::CompiledKernel k = nvrtc::compile(kernel(), 80, cache);
  EXPECT_FALSE(k.binary.empty());
}

TEST_F(BinaryCacheTest, LockedFileFallsBackToMemoryAndStillCompiles) {
  { BinaryCache create(db_path()); }
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);  // holds the write lock

  BinaryCache cache(db_path(), std::chrono::milliseconds(100));
  const nvrtc::CompiledKernel k = nvrtc::compile(kernel(6), 80, cache);  // the store hits the lock
  EXPECT_FALSE(k.binary.empty());
  EXPECT_FALSE(cache.persistent());
  EXPECT_FALSE(cache.persistence_error().empty());
  // Memory still serves hits.
  const auto before = nvrtc::compile_invocations();
  EXPECT_TRUE(nvrtc::compile(kernel(6), 80, cache).from_cache);
  EXPECT_EQ(nvrtc::compile_invocations(), before);

  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
}

TEST_F(BinaryCacheTest, UncreatableDirectoryIsMemoryOnly) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: directory permissions do not apply";
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  BinaryCache cache((dir_ / "sub" / "binaries.sqlite").string());
  EXPECT_FALSE(cache.persistent());
  EXPECT_FALSE(nvrtc::compile(kernel(), 80, cache).binary.empty());
}

// Its binaries would be loaded and run: a cache another user can write is not read (memory-only, with
// the reason), however good its entries look.
TEST_F(BinaryCacheTest, FileInADirectoryWritableByOthersIsNotReadNorWritten) {
  {
    BinaryCache writer(db_path());
    nvrtc::compile(kernel(), 80, writer);
  }
  fs::permissions(dir_, fs::perms::all);
  BinaryCache cache(db_path());
  EXPECT_FALSE(cache.persistent());
  EXPECT_NE(cache.persistence_error().find("is writable by other users (mode 0777)"), std::string::npos)
      << cache.persistence_error();
  const auto before = nvrtc::compile_invocations();
  EXPECT_FALSE(nvrtc::compile(kernel(), 80, cache).from_cache);
  EXPECT_EQ(nvrtc::compile_invocations(), before + 1);
}

TEST_F(BinaryCacheTest, DirectoryItCreatesIsPrivate) {
  BinaryCache cache((dir_ / "a" / "b" / "binaries.sqlite").string());
  ASSERT_TRUE(cache.persistent()) << cache.persistence_error();
  EXPECT_EQ(fs::status(dir_ / "a").permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir_ / "a" / "b").permissions(), fs::perms::owner_all);
}

// The digests of files kept outside the cache (the sim's precompiled headers) survive the process.
TEST_F(BinaryCacheTest, FileDigestsPersist) {
  {
    BinaryCache writer(db_path());
    EXPECT_FALSE(writer.file_digest("/w/simt.h.gch/a.gch"));
    writer.record_file_digest("/w/simt.h.gch/a.gch", std::string(64, 'a'));
    writer.record_file_digest("/w/simt.h.gch/a.gch", std::string(64, 'b'));
  }
  BinaryCache reader(db_path());
  EXPECT_EQ(reader.file_digest("/w/simt.h.gch/a.gch"), std::string(64, 'b'));
  EXPECT_FALSE(reader.file_digest("/w/simt.h.gch/other.gch"));
}

TEST(BinaryKey, DependsOnBackendTargetAndVersionNotOnOptionOrder) {
  detail::BinaryKeyInputs a{"source", {"-b", "-a"}, "nvrtc 13.0", "sm_90", "cuda"};
  detail::BinaryKeyInputs reordered = a;
  reordered.options = {"-a", "-b"};
  EXPECT_EQ(detail::binary_key(a), detail::binary_key(reordered));
  EXPECT_EQ(detail::binary_key(a).size(), 64u);
  for (auto change : {+[](detail::BinaryKeyInputs& k) { k.backend = "sim"; },
                      +[](detail::BinaryKeyInputs& k) { k.target = "sm_80"; },
                      +[](detail::BinaryKeyInputs& k) { k.compiler_version = "nvrtc 13.1"; },
                      +[](detail::BinaryKeyInputs& k) { k.source = "source "; },
                      +[](detail::BinaryKeyInputs& k) { k.options.push_back("-c"); }}) {
    detail::BinaryKeyInputs changed = a;
    change(changed);
    EXPECT_NE(detail::binary_key(changed), detail::binary_key(a));
  }
}

TEST(Sha256, KnownDigests) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(detail::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(detail::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(BinaryCachePath, BesideTheTuningDatabase) {
  EXPECT_EQ(detail::default_binary_cache_path("/tmp/x/tuning.sqlite"), "/tmp/x/binaries.sqlite");
}

}  // namespace
}  // namespace dcnjit
