// KernelLibrary's two cache levels: a kernel compiled once is loaded without the host compiler by a
// second device of the same process (process level) and by a second process (binaries.sqlite, the
// binary cache shared with the cuda backend), and a damaged cache never stops a kernel from loading:
// it is compiled again. "Without the host compiler" is counted, not timed: KernelLibrary counts its
// compiler runs, and the second processes (sim_cache_probe) print their count.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "runtime/binary_cache.h"
#include "runtime/store/connection.h"
#include "runtime/store/statement.h"
#include "tests/runtime/sim/cache_probe_kernel.h"
#include "tests/runtime/sim/child_process.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::sim {
namespace {

using ::testing::HasSubstr;
using testing::ChildResult;
using testing::run_cache_probe;
using testing::run_child;
using dcnjit::testing::ScratchDirectory;

// A tag no other test, process or earlier run has used: the probe kernel of this tag is in no cache.
std::string unique_tag() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return fmt::format("{}.{} pid {} t {}", test->test_suite_name(), test->name(), getpid(),
                     std::chrono::steady_clock::now().time_since_epoch().count());
}

SimOptions options_with_cache(const std::string& cache_file) {
  return SimOptions{.threads = 1,
                    .order = ThreadOrder::in_order(),
                    .binary_cache = std::make_shared<detail::BinaryCache>(cache_file)};
}

// sim_cache_probe with the cache file `cache_file`. Without `work_dir` it shares this process's work
// directory (and so the precompiled shim, which takes seconds to build): it may find the library file
// an earlier process wrote there, but it counts a load as a disk hit only when the bytes came from the
// cache. With `work_dir`, nothing another test process does to the shared one can reach it.
ChildResult run_probe(const std::string& cache_file, const std::string& tag, const std::string& work_dir = {}) {
  if (work_dir.empty()) return run_child({DCNJIT_SIM_CACHE_PROBE, cache_file, tag});
  return run_child({DCNJIT_SIM_CACHE_PROBE, cache_file, tag}, {{"DCNJIT_SIM_WORK_DIR", work_dir}});
}

TEST(SimBinaryCache, CompiledKernelIsStoredAsHostSharedObject) {
  ScratchDirectory dir;
  const std::string cache_file = dir.file("binaries.sqlite");
  {
    SimKernelDevice device(options_with_cache(cache_file));
    ASSERT_TRUE(run_cache_probe(device, unique_tag()));
    EXPECT_EQ(device.library().compilations(), 1);
  }
  store::Connection db = store::Connection::open(cache_file, store::Access::read_only);
  store::Statement rows = db.prepare("SELECT format, entry, name, substr(binary, 1, 4), length(binary) FROM binaries");
  ASSERT_TRUE(rows.step()) << "nothing was stored in " << cache_file;
  EXPECT_EQ(rows.column_text(0), "host_so");
  EXPECT_EQ(rows.column_text(1), "cache_probe_sim_entry");
  EXPECT_EQ(rows.column_text(2), "cache_probe");
  EXPECT_EQ(rows.column_text(3), "\x7f" "ELF");  // the shared object's bytes, not a path to it
  EXPECT_GT(rows.column_int64(4), 1000);
  EXPECT_FALSE(rows.step()) << "one kernel, one entry";
}

TEST(SimBinaryCache, SecondDeviceOfTheProcessLoadsWithoutCompiling) {
  ScratchDirectory dir;
  const std::string tag = unique_tag();
  SimKernelDevice first(options_with_cache(dir.file("first.sqlite")));
  ASSERT_TRUE(run_cache_probe(first, tag));
  EXPECT_EQ(first.library().compilations(), 1);
  // A cache file of its own, still empty: only the process level can serve the second device.
  SimKernelDevice second(options_with_cache(dir.file("second.sqlite")));
  ASSERT_TRUE(run_cache_probe(second, tag));
  EXPECT_EQ(second.library().compilations(), 0);
}

TEST(SimBinaryCache, SecondProcessLoadsFromTheCacheFileWithoutCompiling) {
  ScratchDirectory dir;
  const std::string cache_file = dir.file("binaries.sqlite"), work_dir = dir.file("work"), tag = unique_tag();
  const ChildResult first = run_probe(cache_file, tag, work_dir);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("compilations=1 disk_hits=0"));
  const ChildResult second = run_probe(cache_file, tag, work_dir);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("compilations=0 disk_hits=1"));
}

TEST(SimBinaryCache, CacheFileThatIsNotADatabaseFallsBackToCompiling) {
  ScratchDirectory dir;
  const std::string cache_file = dir.file("binaries.sqlite");
  std::ofstream(cache_file) << "this is not an SQLite database, just text where one is expected\n";
  const ChildResult probe = run_probe(cache_file, unique_tag());
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  EXPECT_THAT(probe.output, HasSubstr("compilations=1"));
}

// The three processes have a work directory of their own, so the library files they find there are
// exactly the ones this test's processes wrote.
TEST(SimBinaryCache, DamagedEntryIsCompiledAgainAndReplaced) {
  ScratchDirectory dir;
  const std::string cache_file = dir.file("binaries.sqlite"), work_dir = dir.file("work"), tag = unique_tag();
  const ChildResult first = run_probe(cache_file, tag, work_dir);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("compilations=1 disk_hits=0"));
  {
    // Keep the ELF header, cut the rest: a library dlopen must reject, as after a torn copy.
    store::Connection db = store::Connection::open(cache_file, store::Access::read_write);
    db.execute("UPDATE binaries SET binary = CAST(substr(binary, 1, 256) AS BLOB)");
    ASSERT_EQ(db.changes(), 1) << "the first process stored no entry";
  }
  const ChildResult rebuilt = run_probe(cache_file, tag, work_dir);
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
  EXPECT_THAT(rebuilt.output, HasSubstr("compilations=1 disk_hits=1"));
  const ChildResult after = run_probe(cache_file, tag, work_dir);
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_THAT(after.output, HasSubstr("compilations=0 disk_hits=1")) << "the rebuilt library replaced the entry";
}

}  // namespace
}  // namespace dcnjit::sim
