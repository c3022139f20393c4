// The export format (golden file), its strict parser, and the merge rules: generator version
// refused, faster entry kept, devices mixed only when asked, import replaces.
#include "tuner/cache_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <limits>
#include <thread>
#include <sstream>

#include "tests/support/run_with_deadline.h"
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
  // Canonical, each dimension in range, sizes beyond 64 bits: import used to accept it.
  const char* const huge = "N4096 C4096 H1073741824 W1073741824 Co4096 k1x1 s1x1 p0x0 d1x1 g1 og1 nomask nobias v2 f32";
  expect_refused(replace(kProblemA, huge), "entry 0: x [N, C, H, W]");
}

// `cache import FIFO` blocked forever; a device never ended.
TEST(CacheFileRead, FifoAndDeviceAreRefusedWithoutBlocking) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("import.json").c_str(), 0600), 0);
  auto read_fails_with = [](const std::string& path, const std::string& expected) {
    try {
      read_cache_file(path);
      return 1;
    } catch (const Error& e) {
      return e.code() == ErrorCode::IoError && std::string(e.what()).find(expected) != std::string::npos ? 0 : 2;
    }
  };
  EXPECT_EQ(dcnjit::testing::run_with_deadline([&] { return read_fails_with(dir.file("import.json"), "is a FIFO"); }),
            0)
      << "1: read, 2: another error, 114: blocked";
  EXPECT_EQ(dcnjit::testing::run_with_deadline([&] { return read_fails_with("/dev/zero", "is a character device"); }),
            0);
}

// The header exactly as to_json() writes it: "1" and 1.9 were read as format_version 1.
TEST(CacheFileJson, HeaderFieldsMustHaveTheExportersTypes) {
  const std::string good = to_json(sample());
  auto refused_because = [](const std::string& text) {
    try {
      parse_cache_json(text, "x.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_NE(refused_because(replace("\"format_version\": 1", "\"format_version\": \"1\"")).find(
                "format_version 1 has JSON type text, not the integer 1"),
            std::string::npos);
  EXPECT_NE(refused_because(replace("\"format_version\": 1", "\"format_version\": 1.9")).find(
                "format_version 1.9 has JSON type real, not the integer 1"),
            std::string::npos);
  EXPECT_NE(refused_because(replace("\"format_version\": 1", "\"format_version\": 2")).find("not supported"),
            std::string::npos);
  const std::string version = "\"generator_version\": \"" + current_generator_version() + "\"";
  EXPECT_NE(refused_because(replace(version, "\"generator_version\": " + current_generator_version())).find(
                "\"generator_version\" is not a string"),
            std::string::npos);
  EXPECT_NE(refused_because(replace("\"env\": \"cpu:Test:threads=2\"", "\"env\": 7")).find(
                "entry 1: \"env\" is not a string"),
            std::string::npos);
}

// A bad entry is reported by its index; by default the whole file is refused, with BadEntries::skip
// the others are read and the bad ones listed.
TEST(CacheFileJson, BadEntriesAreRefusedOrSkippedByIndex) {
  CacheFile three = sample();
  three.entries.push_back(three.entries[0]);
  three.entries[2].key.env = "cpu:third";
  std::string text = to_json(three);
  text.replace(text.find("\"time_ms\": 3.5"), 14, "\"time_ms\": -1");  // entry 1
  try {
    parse_cache_json(text, "x.json");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 bad entry (entry 1: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nothing was imported"), std::string::npos) << e.what();
  }
  const CacheFile read = parse_cache_json(text, "x.json", BadEntries::skip);
  ASSERT_EQ(read.entries.size(), 2u);
  EXPECT_EQ(read.entries[1].key.env, "cpu:third");
  ASSERT_EQ(read.rejected.size(), 1u);
  EXPECT_EQ(read.rejected[0].index, 1u);
  EXPECT_NE(read.rejected[0].reason.find("time_ms -1 is not a positive number"), std::string::npos)
      << read.rejected[0].reason;
}

// Export leaves out what import would refuse (a time of Inf, a key that is not canonical: hand-edited
// rows, or rows of an older build) and names them, so the file it writes imports completely. Before,
// export wrote them and import then refused the whole file.
TEST(CacheFileMerge, ExportLeavesOutRowsImportWouldRefuse) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("a.sqlite"));
  std::vector<Winner> rows = sample().entries;
  rows.push_back(rows[0]);
  rows.back().key.env = "cpu:infinite";
  rows.back().time_ms = std::numeric_limits<double>::infinity();
  rows.push_back(rows[0]);
  rows.back().key.problem = "N1 C4 H8 W8";  // not canonical
  for (const Winner& w : rows) db.replace_winner(w);
  const CacheFile file = exportable(db.winners());
  EXPECT_EQ(file.entries.size(), 2u);
  ASSERT_EQ(file.rejected.size(), 2u);
  write_cache_file(dir.file("export.json"), file);
  EXPECT_EQ(read_cache_file(dir.file("export.json")).entries.size(), 2u);  // refuses on any bad entry
}

// SIGKILL during a 200,000-entry import left part of it. One transaction: a process killed at any
// moment of the import leaves none of the file, or all of it.
TEST(CacheFileMerge, ImportKilledMidwayLeavesNothingOrEverything) {
  ScratchDirectory dir;
  CacheFile big{current_generator_version(), {}, {}};
  constexpr int kEntries = 40000;
  for (int i = 0; i < kEntries; ++i) {
    Winner w = sample().entries[0];
    w.key.env = "cpu:machine-" + std::to_string(i);
    big.entries.push_back(w);
  }
  write_cache_file(dir.file("big.json"), big);
  const CacheFile file = read_cache_file(dir.file("big.json"));
  for (int delay_ms : {5, 40, 150}) {
    const std::string path = dir.file("killed-" + std::to_string(delay_ms) + ".sqlite");
    { TuningDb::open(path); }  // created and migrated before the child starts
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      TuningDb db = TuningDb::open(path);
      MergeOptions options;
      options.on_conflict = MergeOptions::OnConflict::take_file;
      options.mix_devices = true;
      (void)!write(ready[1], "k", 1);
      merge_into(db, file, options);
      pause();  // finished: wait to be killed like the others
      _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    const std::size_t stored = TuningDb::open(path).winners().size();
    EXPECT_TRUE(stored == 0 || stored == std::size_t(kEntries)) << stored << " of " << kEntries << " after "
                                                                 << delay_ms << " ms";
  }
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

// What export writes, import reads, exactly: every pass and backend, extreme but valid times, a null or
// a zero default time, an empty default config (rows migrated from schema version 1 have one), and env
// keys with quotes, backslashes, control characters and non-ASCII bytes.
TEST(CacheFileMerge, ExportImportRoundTripsEveryRowExactly) {
  ScratchDirectory dir;
  TuningDb source = TuningDb::open(dir.file("a.sqlite"));
  const std::vector<std::string> envs = {"cpu:plain", "cpu:\"quoted\" \\back\\slash", "tab\tnew\nline\x01\x7f",
                                         "caf\xc3\xa9 \xe2\x9c\x93", "bytes \xff\xfe\x80 not UTF-8"};
  const std::vector<double> times = {5e-324, 1e-300, 1.0 / 3.0, 0.1, 7.0, 1e300};
  const std::vector<std::string> problems = {kProblemA, kProblemB,
                                             "N3 C6 H5 W7 Co9 k2x3 s2x1 p0x2 d1x2 g3 og2 mask bias v1 bf16"};
  int n = 0;
  for (Pass pass : all_passes())
    for (Backend backend : {Backend::cpu, Backend::sim, Backend::cuda})
      for (std::size_t e = 0; e < envs.size(); ++e) {
        std::optional<double> default_ms;
        if (n % 4 == 1) default_ms = 0.0;
        if (n % 4 > 1) default_ms = times[std::size_t(n + 1) % times.size()];
        Winner w{TuningKey{problems[std::size_t(n) % problems.size()], kLayoutNCHW, pass, backend, envs[e]},
                 n % 2 ? kFast : kSlow, times[std::size_t(n) % times.size()], n % 3 ? kSlow : "", default_ms, 0};
        source.replace_winner(w);
        ++n;
      }
  const std::vector<Winner> exported = source.winners();
  ASSERT_EQ(int(exported.size()), n);
  write_cache_file(dir.file("export.json"), CacheFile{current_generator_version(), exported});
  const CacheFile read = read_cache_file(dir.file("export.json"));
  TuningDb target = TuningDb::open(dir.file("b.sqlite"));
  MergeOptions options;
  options.on_conflict = MergeOptions::OnConflict::take_file;
  options.mix_devices = true;
  EXPECT_EQ(merge_into(target, read, options).taken, n);
  const std::vector<Winner> imported = target.winners();
  ASSERT_EQ(imported.size(), exported.size());
  for (std::size_t i = 0; i < exported.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(imported[i].key, exported[i].key);
    EXPECT_EQ(imported[i].config, exported[i].config);
    EXPECT_EQ(imported[i].time_ms, exported[i].time_ms);
    EXPECT_EQ(imported[i].default_config, exported[i].default_config);
    EXPECT_EQ(imported[i].default_time_ms, exported[i].default_time_ms);
  }
}

}  // namespace
}  // namespace dcnjit::tuner
