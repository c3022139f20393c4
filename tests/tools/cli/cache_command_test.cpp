// `dcnjit cache` as a user runs it: import/merge of a file with a bad entry (refused naming the entry,
// or skipped with --skip-invalid), export of rows an import would refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/run_dcnjit.h"
#include "tests/support/scratch_directory.h"
#include "tuner/cache_file.h"

namespace dcnjit::test {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::run_dcnjit;
using dcnjit::testing::ScratchDirectory;

constexpr const char* kConfig = "im2col step=1 tile=0";

// An export with three entries, the second with a negative time.
std::string file_with_a_bad_entry(const ScratchDirectory& dir) {
  tuner::CacheFile file{tuner::current_generator_version(), {}, {}};
  for (const char* env : {"cpu:a", "cpu:b", "cpu:c"})
    file.entries.push_back(tuner::Winner{
        tuner::TuningKey{"N1 C4 H8 W8 Co4 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f32", tuner::kLayoutNCHW,
                         tuner::Pass::forward, Backend::cpu, env},
        kConfig, 0.5, kConfig, std::nullopt, 0});
  file.entries[1].time_ms = -1;
  const std::string text = tuner::to_json(file);
  std::ofstream(dir.file("bad.json")) << text;
  return dir.file("bad.json");
}

TEST(CacheCommand, ImportWithABadEntryIsRefusedNamingItAndStoresNothing) {
  ScratchDirectory dir;
  const std::string file = file_with_a_bad_entry(dir);
  const auto result = run_dcnjit({"cache", "import", file, "--cache", dir.file("c.sqlite")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("1 bad entry (entry 1: "));
  EXPECT_THAT(result.output, HasSubstr("--skip-invalid"));
  const auto listed = run_dcnjit({"cache", "list", "--cache", dir.file("c.sqlite")});
  EXPECT_EQ(listed.output.find("N1 C4"), std::string::npos) << listed.output;
}

TEST(CacheCommand, SkipInvalidImportsTheOthersAndListsTheBadOnes) {
  ScratchDirectory dir;
  const std::string file = file_with_a_bad_entry(dir);
  const auto result = run_dcnjit({"cache", "import", file, "--skip-invalid", "--cache", dir.file("c.sqlite")});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("2 taken"));
  EXPECT_THAT(result.output, HasSubstr("1 invalid skipped"));
  EXPECT_THAT(result.output, HasSubstr("skipped entry 1: "));
}

}  // namespace
}  // namespace dcnjit::test
