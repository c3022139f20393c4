// The sim's work directory holds what it compiles and loads, so another local user must never be able
// to write it (core/file_trust.h, README.md "Security"). Each case runs sim_cache_probe, a separate
// process, because the work directory is chosen once per process. Cases that need a directory of
// another user chown one to "nobody" (uid 65534) and run only as root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/runtime/sim/child_process.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::sim {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;
namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;

class SimWorkDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(tmp_);
    fs::permissions(tmp_, fs::perms::all | fs::perms::sticky_bit);  // like /tmp
  }

  // The default work directory for this user under the test's temp directory.
  fs::path default_directory() const { return tmp_ / ("dcnjit-sim-" + std::to_string(getuid())); }

  // Runs the probe with the default work directory (TMPDIR = tmp_) unless `work_dir` names one, and
  // a binary cache of the test's own (whose directory is where a replacement work directory goes).
  testing::ChildResult run_probe(const std::string& tag, const std::string& work_dir = "") {
    const std::map<std::string, std::string> environment = {{"TMPDIR", tmp_.string()},
                                                            {"DCNJIT_SIM_WORK_DIR", work_dir},
                                                            {"DCNJIT_CACHE", (cache_ / "tuning.sqlite").string()}};
    return testing::run_child({DCNJIT_SIM_CACHE_PROBE, (cache_ / "binaries.sqlite").string(), tag}, environment);
  }

  static std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) names.push_back(entry.path().string());
    return names;
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? unsigned(st.st_mode & 07777) : 0u;
  }

  static bool has_library(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".so") return true;
    return false;
  }

  ScratchDirectory scratch_;
  fs::path tmp_ = scratch_ / "tmp";
  fs::path cache_ = scratch_ / "cache";
};

TEST_F(SimWorkDirectory, NewDefaultDirectoryIsPrivate) {
  const testing::ChildResult result = run_probe("work dir new");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(mode_of(default_directory()), 0700u);
  EXPECT_TRUE(has_library(default_directory()));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("warning")));
}

TEST_F(SimWorkDirectory, OwnDefaultDirectoryOfAnOlderVersionBecomesPrivate) {
  fs::create_directory(default_directory());
  fs::permissions(default_directory(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                           fs::perms::others_read | fs::perms::others_exec);  // 0755
  const testing::ChildResult result = run_probe("work dir 0755");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(mode_of(default_directory()), 0700u);
  EXPECT_TRUE(has_library(default_directory()));
}

// Someone made the default directory writable by everybody (or created it so): it is neither read
// nor written; the kernel is compiled in a private directory beside the binary cache, with a warning.
TEST_F(SimWorkDirectory, DefaultDirectoryWritableByOthersIsNotUsed) {
  fs::create_directory(default_directory());
  fs::permissions(default_directory(), fs::perms::all);
  const std::vector<std::string> before = entries(default_directory());
  const testing::ChildResult result = run_probe("work dir 0777");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("is writable by other users (mode 0777)"));
  EXPECT_THAT(result.output, HasSubstr((cache_ / "sim-work").string()));
  EXPECT_EQ(entries(default_directory()), before);
  EXPECT_TRUE(has_library(cache_ / "sim-work"));
  EXPECT_EQ(mode_of(cache_ / "sim-work"), 0700u);
}

// The attack: another user creates the victim's default directory first, world-writable, and plants
// files there (a precompiled header, a library). The victim's process must not touch it.
TEST_F(SimWorkDirectory, DefaultDirectoryCreatedByAnotherUserIsNotUsed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  fs::create_directories(default_directory() / "planted");
  fs::permissions(default_directory(), fs::perms::all);
  ASSERT_EQ(::chown(default_directory().c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(::chown((default_directory() / "planted").c_str(), kNobody, kNobody), 0);
  const std::vector<std::string> before = entries(default_directory());
  const testing::ChildResult result = run_probe("work dir squatted");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("is owned by uid 65534"));
  EXPECT_EQ(entries(default_directory()), before) << "the process wrote into another user's directory";
  EXPECT_TRUE(has_library(cache_ / "sim-work"));
}

// A directory the user names is not replaced behind their back: an error naming it and the reason.
TEST_F(SimWorkDirectory, NamedDirectoryWritableByOthersIsAnError) {
  const fs::path named = scratch_ / "named";
  fs::create_directory(named);
  fs::permissions(named, fs::perms::all);
  const testing::ChildResult result = run_probe("work dir named 0777", named.string());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr(named.string() + " (DCNJIT_SIM_WORK_DIR) is writable by other users"));
  EXPECT_TRUE(entries(named).empty());
}

TEST_F(SimWorkDirectory, NamedDirectoryInsideAnotherUsersDirectoryIsAnError) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  const fs::path theirs = scratch_ / "theirs";
  fs::create_directories(theirs / "work");
  ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0);  // they can rename "work" at will
  const testing::ChildResult result = run_probe("work dir inside theirs", (theirs / "work").string());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("is inside " + theirs.string() + ", which is owned by uid 65534"));
}

TEST_F(SimWorkDirectory, NamedDirectoryThatDoesNotExistIsCreatedPrivate) {
  const fs::path named = scratch_ / "a" / "b";
  const testing::ChildResult result = run_probe("work dir created", named.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(mode_of(scratch_ / "a"), 0700u);
  EXPECT_EQ(mode_of(named), 0700u);
  EXPECT_TRUE(has_library(named));
}

}  // namespace
}  // namespace dcnjit::sim
