// Presets hold the problems their names promise; the problems file is read strictly.
#include "tuner/presets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "dcnjit/error.h"
#include "tests/support/run_with_deadline.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;

TEST(Presets, DcnV2R50HasStages3To5InF32AndF16) {
  const Preset& p = find_preset("dcnv2-r50");
  std::vector<std::string> expected;
  for (const char* dtype : {"f32", "f16"}) {
    expected.push_back(std::string("N2 C128 H100 W152 Co128 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 ") + dtype);
    expected.push_back(std::string("N2 C256 H50 W76 Co256 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 ") + dtype);
    expected.push_back(std::string("N2 C512 H25 W38 Co512 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 ") + dtype);
  }
  std::vector<std::string> actual;
  for (const Problem& problem : p.problems) actual.push_back(problem.to_string());
  EXPECT_EQ(actual, expected);
}

TEST(Presets, TfAlexnetConv1IsTheOriginalBenchmark) {
  const Preset& p = find_preset("tf-alexnet-conv1");
  ASSERT_EQ(p.problems.size(), 1u);
  EXPECT_EQ(p.problems[0].to_string(), "N100 C3 H224 W224 Co64 k11x11 s4x4 p2x2 d1x1 g1 og1 nomask nobias v2 f32");
  EXPECT_EQ(p.problems[0].Ho(), 55);
}

TEST(Presets, EveryPresetProblemIsValid) {
  for (const Preset& preset : presets())
    for (const Problem& problem : preset.problems) EXPECT_NO_THROW(problem.validate()) << preset.name;
}

TEST(Presets, UnknownNameListsTheKnownOnes) {
  try {
    find_preset("resnet");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smoke, dcnv2-r50, tf-alexnet-conv1"), std::string::npos) << e.what();
  }
}

TEST(ProblemFile, CommentsAndBlankLinesAreSkipped) {
  ScratchDirectory dir;
  std::ofstream(dir.file("p.txt")) << "# header\n\nN1 C4 H8 W8  # trailing comment\n   \nN2 C8 H6 W6 Co4 k1x1 f16\n";
  const auto problems = read_problem_file(dir.file("p.txt"));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].to_string(), "N1 C4 H8 W8 Co4 k3x3 s1x1 p0x0 d1x1 g1 og1 nomask nobias v2 f32");
  EXPECT_EQ(problems[1].dtype, DType::f16);
}

TEST(ProblemFile, BadLineIsReportedWithFileAndLineNumber) {
  ScratchDirectory dir;
  std::ofstream(dir.file("p.txt")) << "N1 C4 H8 W8\nN1 C4 H8 W8 g3\n";
  try {
    read_problem_file(dir.file("p.txt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_NE(std::string(e.what()).find(dir.file("p.txt") + "', line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("groups=3"), std::string::npos) << e.what();
  }
}

// 0 when reading `path` as a problems file fails at once with an IoError containing `expected`.
int problems_file_fails_with(const std::string& path, const std::string& expected) {
  try {
    read_problem_file(path);
    return 1;
  } catch (const Error& e) {
    return e.code() == ErrorCode::IoError && std::string(e.what()).find(expected) != std::string::npos ? 0 : 2;
  }
}

// `tune --problems FIFO` blocked forever, `--problems /dev/zero` read until memory ran out.
TEST(ProblemFile, FifoAndDeviceAreRefusedWithoutBlocking) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_EQ(dcnjit::testing::run_with_deadline([&] { return problems_file_fails_with(dir.file("fifo"), "is a FIFO"); }),
            0)
      << "1: read, 2: another error, 114: blocked";
  EXPECT_EQ(dcnjit::testing::run_with_deadline(
                [&] { return problems_file_fails_with("/dev/zero", "is a character device"); }),
            0);
}

// The example, one line of a problems file: its sizes overflow 64 bits.
TEST(ProblemFile, ProblemWhoseSizesOverflowIsReportedWithItsLine) {
  ScratchDirectory dir;
  std::ofstream(dir.file("p.txt")) << "N1 C4 H8 W8\nN4096 C4096 H1073741824 W1073741824 Co1 k1\n";
  EXPECT_EQ(problems_file_fails_with(dir.file("p.txt"), "line 2: x [N, C, H, W]"), 0);
}

}  // namespace
}  // namespace dcnjit::tuner
