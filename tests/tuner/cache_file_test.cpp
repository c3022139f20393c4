// The export format (golden file), its strict parser, and the merge rules: generator version
// refused, faster entry kept, devices mixed only when asked, import replaces.
#include "tuner/cache_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/scratch_directory.h"

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;

Winner entry(const std::string& problem, Pass pass, const std::string& env, const std::string& config, double ms,
             std::optional<double> default_ms) {
  return Winner{TuningKey{problem, kLayoutNCHW, pass, Backend::cpu, env}, config, ms, "im2col step=1 tile=0", default_ms, 0};
}

const char* const kProblemA = "N1 C4 H8 W8 Co4 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f32";
const char* const kProblemB = "N2 C8 H12 W10 Co8 k3x3 s2x2 p1x1 d1x1 g1 og1 nomask nobias v2 f16";
const char* const kFast = "im2col step=1 tile=256";
const char* const kSlow = "im2col step=1 tile=1024";

CacheFile sample() {
  return CacheFile{current_generator_version(),
                   {entry(kProblemA, Pass::forward, "cpu:Test \"CPU\"\\1:threads=2", kFast, 0.125, 0.25),
                    entry(kProblemB, Pass::backward_weight, "cpu:Test:threads=2", kSlow, 3.5, std::nullopt)}};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CacheFileJson, MatchesTheGoldenFile) {
  // The golden file is the format's specification: a change here breaks every exported cache.
  // It was written by hand from the format comment in cache_file.h, not by to_json.
  const std::string golden = read_text(std::string(DCNJIT_SOURCE_DIR) + "/tests/tuner/golden/cache_export_v1.json");
  ASSERT_FALSE(golden.empty());
  CacheFile file = sample();
  file.generator_version = "1";
  EXPECT_EQ(to_json(file), golden);
}

TEST(CacheFileJson, RoundTripsThroughTheParser) {
  const CacheFile original = sample();
  const CacheFile parsed = parse_cache_json(to_json(original), "mem");
  EXPECT_EQ(parsed.generator_version, original.generator_version);
  ASSERT_EQ(parsed.entries.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parsed.entries[i].key, original.entries[i].key);
    EXPECT_EQ(parsed.entries[i].config, original.entries[i].config);
    EXPECT_EQ(parsed.entries[i].time_ms, original.entries[i].time_ms);  // shortest round-trip text: exact
    EXPECT_EQ(parsed.entries[i].default_time_ms, original.entries[i].default_time_ms);
  }
}

TEST(CacheFileJson, MalformedEntriesAreRefusedNamingFileAndEntry) {
  const std::string good = to_json(sample());
  auto expect_refused = [](const std::string& text, const std::string& needle) {
    try {
      parse_cache_json(text, "/tmp/x.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::IoError);
      EXPECT_NE(std::string(e.what()).find("/tmp/x.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_refused("{not json", "not valid JSON");
  expect_refused(R"({"format": "other", "format_version": 1, "generator_version": "1", "entries": []})", "format");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  expect_refused(replace("tile=256", "tile=256 step=2"), "entry 0");           // a knob twice
  expect_refused(replace("im2col step=1 tile=256", "step=1 tile=256"), "entry 0");  // no algorithm
  expect_refused(replace("\"layout\": \"NCHW\"", "\"layout\": \"NHWC\""), "entry 0");  // not the problem's
  expect_refused(replace("\"time_ms\": 0.125", "\"time_ms\": -1"), "entry 0");
  expect_refused(replace("\"pass\": \"backward_weight\"", "\"pass\": \"sideways\""), "entry 1");
  expect_refused(replace("N2 C8 H12 W10 Co8", "N2 C8 H12 W10 Co8 g1"), "entry 1");  // not canonical
}

TEST(CacheFileMerge, RefusesAnotherGeneratorVersion) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  CacheFile file = sample();
  file.generator_version = "999";
  MergeOptions options;
  options.mix_devices = true;
  try {
    merge_into(db, file, options);
    FAIL() << "another generator version was merged";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::CacheError);
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(db.winners().empty());
}

TEST(CacheFileMerge, FasterEntryWinsEachConflict) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  const std::string env = "cpu:Test:threads=2";
  db.offer_winner(entry(kProblemA, Pass::forward, env, kSlow, 1.0, 2.0));  // file has faster: taken
  db.offer_winner(entry(kProblemB, Pass::forward, env, kFast, 0.5, 2.0));  // file has slower: kept
  CacheFile file{current_generator_version(),
                 {entry(kProblemA, Pass::forward, env, kFast, 0.75, 2.0),
                  entry(kProblemB, Pass::forward, env, kSlow, 0.9, 2.0)}};
  MergeOptions options;
  options.local_environment = [&](Backend) { return std::optional<std::string>(env); };
  const MergeReport r = merge_into(db, file, options);
  EXPECT_EQ(r.taken, 1);
  EXPECT_EQ(r.kept, 1);
  EXPECT_EQ(db.find_winner(file.entries[0].key)->config, kFast);
  EXPECT_EQ(db.find_winner(file.entries[1].key)->config, kFast);
  EXPECT_DOUBLE_EQ(db.find_winner(file.entries[1].key)->time_ms, 0.5);
}

TEST(CacheFileMerge, OtherDevicesOnlyWhenAsked) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  CacheFile file{current_generator_version(),
                 {entry(kProblemA, Pass::forward, "cpu:Here:threads=2", kFast, 0.75, 1.0),
                  entry(kProblemB, Pass::forward, "cpu:Elsewhere:threads=64", kFast, 0.75, 1.0)}};
  MergeOptions options;
  options.local_environment = [](Backend) { return std::optional<std::string>("cpu:Here:threads=2"); };
  MergeReport r = merge_into(db, file, options);
  EXPECT_EQ(r.taken, 1);
  EXPECT_EQ(r.skipped_other_device, 1);
  EXPECT_FALSE(db.find_winner(file.entries[1].key));
  options.mix_devices = true;
  r = merge_into(db, file, options);
  EXPECT_EQ(r.skipped_other_device, 0);
  EXPECT_TRUE(db.find_winner(file.entries[1].key));
}

TEST(CacheFileMerge, ExportImportRoundTripReplacesConflicts) {
  ScratchDirectory dir;
  TuningDb source = TuningDb::open(dir.file("a.sqlite"));
  for (const Winner& w : sample().entries) source.offer_winner(w);
  write_cache_file(dir.file("export.json"), CacheFile{current_generator_version(), source.winners()});

  TuningDb target = TuningDb::open(dir.file("b.sqlite"));
  Winner faster = sample().entries[0];
  faster.config = kSlow;  // a different, faster-measured entry for the same key
  faster.time_ms = 0.001;
  target.offer_winner(faster);
  MergeOptions options;
  options.on_conflict = MergeOptions::OnConflict::take_file;
  options.mix_devices = true;
  const MergeReport r = merge_into(target, read_cache_file(dir.file("export.json")), options);
  EXPECT_EQ(r.taken, 2);
  const auto a = source.winners(), b = target.winners();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].config, b[i].config);
    EXPECT_EQ(a[i].time_ms, b[i].time_ms);
  }
}

}  // namespace
}  // namespace dcnjit::tuner
