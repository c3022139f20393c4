// core/file_io: inputs must be regular files read up to a bound, outputs are opened without
// blocking. Each case that could hang runs under run_with_deadline (tests/support).
#include "core/file_io.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dcnjit/error.h"
#include "tests/support/run_with_deadline.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::detail {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::run_with_deadline;
using dcnjit::testing::ScratchDirectory;
namespace fs = std::filesystem;

// 0 when reading `path` fails with an IoError containing `expected`.
int read_fails_with(const fs::path& path, const std::string& expected) {
  try {
    read_regular_file(path, 1 << 20, "input");
    return 1;
  } catch (const Error& e) {
    return e.code() == ErrorCode::IoError && std::string(e.what()).find(expected) != std::string::npos ? 0 : 2;
  } catch (...) {
    return 3;
  }
}

TEST(FileIo, ReadsARegularFileAndALinkToOne) {
  ScratchDirectory dir;
  std::ofstream(dir.file("a.txt")) << "hello";
  fs::create_symlink(dir / "a.txt", dir / "link");
  EXPECT_EQ(read_regular_file(dir / "a.txt", 5, "input"), "hello");
  EXPECT_EQ(read_regular_file(dir / "link", 5, "input"), "hello");
}

TEST(FileIo, FifoIsRefusedWithoutWaitingForAWriter) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_EQ(run_with_deadline([&] { return read_fails_with(dir / "fifo", "is a FIFO (named pipe)"); }), 0)
      << "1: read, 2/3: another error, 114: blocked";
}

TEST(FileIo, DevicesAreRefusedEvenThroughALink) {
  ScratchDirectory dir;
  fs::create_symlink("/dev/zero", dir / "zero.npy");
  EXPECT_EQ(run_with_deadline([&] { return read_fails_with(dir / "zero.npy", "is a character device"); }), 0)
      << "1: read, 2/3: another error, 106/109/114: ran out of memory or time";
  EXPECT_EQ(run_with_deadline([&] { return read_fails_with("/dev/zero", "is a character device"); }), 0);
}

TEST(FileIo, DirectoryMissingFileAndOversizedFileAreErrorsNamingThePath) {
  ScratchDirectory dir;
  EXPECT_THAT([&] {
    try {
      read_regular_file(dir.path(), 10, "problems file");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), HasSubstr("problems file '" + dir.path().string() + "': is a directory"));
  EXPECT_EQ(read_fails_with(dir / "missing", "cannot open for reading"), 0);
  std::ofstream(dir.file("big")) << std::string(100, 'x');
  try {
    read_regular_file(dir / "big", 99, "cache file");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is 100 bytes, more than the 99 bytes allowed"));
  }
}

TEST(FileIo, OutputFifoWithoutReaderIsAnErrorAtOnce) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("out").c_str(), 0600), 0);
  EXPECT_EQ(run_with_deadline([&] {
              try {
                open_output_file(dir / "out", "--svg");
                return 1;
              } catch (const Error& e) {
                return std::string(e.what()).find("is a FIFO that nobody reads") != std::string::npos ? 0 : 2;
              }
            }),
            0)
      << "1: opened, 2: another error, 114: blocked";
}

TEST(FileIo, OutputFifoWithAReaderAndDevicesAreWritten) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("out").c_str(), 0600), 0);
  const int reader = open(dir.file("out").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  {
    OutputFile out = open_output_file(dir / "out", "output");
    EXPECT_GE(std::fputs("data", out.get()), 0);
  }
  char buffer[8] = {};
  EXPECT_EQ(read(reader, buffer, sizeof buffer), 4);
  EXPECT_EQ(std::string(buffer), "data");
  close(reader);
  OutputFile null = open_output_file("/dev/null", "output");
  EXPECT_GE(std::fputs("x", null.get()), 0);
}

TEST(FileIo, OutputInAMissingDirectoryNamesThePath) {
  ScratchDirectory dir;
  try {
    open_output_file(dir / "no" / "x.svg", "--svg");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_THAT(e.what(), HasSubstr("--svg '" + (dir / "no" / "x.svg").string() + "': cannot open for writing"));
  }
}

}  // namespace
}  // namespace dcnjit::detail
