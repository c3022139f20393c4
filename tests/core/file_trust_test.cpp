// core/file_trust: which directories and files dcnjit may load from. Cases that need another
// user's directory chown one to "nobody" (uid 65534) and run only as root.
#include "core/file_trust.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/scratch_directory.h"

namespace dcnjit::detail {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;
namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;

TEST(FileTrust, PrivateDirectoryAndItsFilesAreTrusted) {
  ScratchDirectory dir;  // mkdtemp: 0700, in the sticky /tmp
  EXPECT_EQ(untrusted_directory_reason(dir.path()), "");
  std::ofstream(dir.file("f")) << "x";
  fs::permissions(dir / "f", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                 fs::perms::others_read);
  EXPECT_EQ(untrusted_file_reason(dir / "f"), "");
  EXPECT_EQ(untrusted_file_reason(dir / "missing"), "");  // the directory decides who may create it
}

TEST(FileTrust, DirectoryWritableByOthersIsNot) {
  ScratchDirectory dir;
  fs::create_directory(dir / "open");
  fs::permissions(dir / "open", fs::perms::all);
  EXPECT_EQ(untrusted_directory_reason(dir / "open"), "is writable by other users (mode 0777)");
  // The sticky bit protects the entries of a directory, not the directory's own use as a work place.
  fs::permissions(dir / "open", fs::perms::all | fs::perms::sticky_bit);
  EXPECT_EQ(untrusted_directory_reason(dir / "open"), "is writable by other users (mode 1777)");
}

TEST(FileTrust, AncestorWritableByOthersIsNotUnlessSticky) {
  ScratchDirectory dir;
  fs::create_directories(dir / "open" / "mine");
  fs::permissions(dir / "open", fs::perms::all);
  EXPECT_THAT(untrusted_directory_reason(dir / "open" / "mine"),
              HasSubstr("is inside " + (dir / "open").string() + ", which is writable by other users (mode 0777)"));
  fs::permissions(dir / "open", fs::perms::all | fs::perms::sticky_bit);  // like /tmp
  EXPECT_EQ(untrusted_directory_reason(dir / "open" / "mine"), "");
}

TEST(FileTrust, FileWritableByOthersOrNotRegularIsNot) {
  ScratchDirectory dir;
  std::ofstream(dir.file("f")) << "x";
  fs::permissions(dir / "f", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_write);
  EXPECT_EQ(untrusted_file_reason(dir / "f"), "is writable by other users (mode 0602)");
  fs::create_directory(dir / "d");
  EXPECT_EQ(untrusted_file_reason(dir / "d"), "is not a regular file");
}

TEST(FileTrust, MissingDirectoryIsNot) {
  ScratchDirectory dir;
  EXPECT_THAT(untrusted_directory_reason(dir / "missing"), HasSubstr("cannot be examined"));
}

TEST(FileTrust, OwnedByAnotherUserIsNot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  ScratchDirectory dir;
  fs::create_directories(dir / "theirs" / "mine");
  ASSERT_EQ(::chown((dir / "theirs").c_str(), kNobody, kNobody), 0);
  EXPECT_EQ(untrusted_directory_reason(dir / "theirs"), "is owned by uid 65534 (neither this user, uid 0, nor root)");
  EXPECT_THAT(untrusted_directory_reason(dir / "theirs" / "mine"), HasSubstr("is inside " + (dir / "theirs").string()));
  std::ofstream(dir.file("f")) << "x";
  ASSERT_EQ(::chown(dir.file("f").c_str(), kNobody, kNobody), 0);
  EXPECT_THAT(untrusted_file_reason(dir / "f"), HasSubstr("is owned by uid 65534"));
  // Group-writable for a group with other members (nogroup is not root's private group).
  fs::create_directory(dir / "group");
  ASSERT_EQ(::chown((dir / "group").c_str(), 0, kNobody), 0);
  fs::permissions(dir / "group", fs::perms::owner_all | fs::perms::group_all);
  EXPECT_EQ(untrusted_directory_reason(dir / "group"), "is writable by other users (mode 0770)");
}

TEST(FileTrust, SymbolicLinkOfAnotherUserIsNot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a link of another user";
  ScratchDirectory dir;
  fs::create_directory(dir / "target");
  fs::create_directory_symlink(dir / "target", dir / "link");
  ASSERT_EQ(::lchown((dir / "link").c_str(), kNobody, kNobody), 0);  // they could point it elsewhere
  EXPECT_THAT(untrusted_directory_reason(dir / "link"), HasSubstr("goes through the symbolic link"));
  ASSERT_EQ(::lchown((dir / "link").c_str(), 0, 0), 0);
  EXPECT_EQ(untrusted_directory_reason(dir / "link"), "");
}

TEST(FileTrust, CreatedDirectoriesArePrivateAndExistingOnesUntouched) {
  ScratchDirectory dir;
  fs::create_directory(dir / "old");
  fs::permissions(dir / "old", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  create_private_directories(dir / "old" / "a" / "b");
  EXPECT_EQ(fs::status(dir / "old").permissions(),
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  EXPECT_EQ(fs::status(dir / "old" / "a").permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir / "old" / "a" / "b").permissions(), fs::perms::owner_all);
  create_private_directories(dir / "old" / "a" / "b");  // exists: fine
  std::ofstream(dir.file("file")) << "x";
  EXPECT_THROW(create_private_directories(dir / "file" / "sub"), fs::filesystem_error);
}

}  // namespace
}  // namespace dcnjit::detail
