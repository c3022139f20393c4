// TuningDb: schema and migrations, the faster-wins UPSERT, every trial kept, and the bad-file policy
// (corrupt moved aside, foreign or newer refused, read-only served).
#include "tuner/tuning_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>
#include <fstream>
#include <tuple>

#include "runtime/store/connection.h"
#include "runtime/store/migrations.h"
#include "runtime/store/store_error.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::tuner {
namespace {

namespace fs = std::filesystem;
using dcnjit::testing::ScratchDirectory;

TuningKey key(const std::string& problem, Pass pass = Pass::forward, const std::string& env = "env-a") {
  return TuningKey{problem, kLayoutNCHW, pass, Backend::cpu, env};
}

Winner winner(const TuningKey& k, const std::string& config, double ms) {
  return Winner{k, config, ms, "step=1 tile=0", 10.0, 0};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TuningDb, FreshDatabaseIsAtLatestSchemaInWalMode) {
  ScratchDirectory dir;
  const std::string path = dir.file("sub/dir/cache.sqlite");  // directories are created
  {
    TuningDb db = TuningDb::open(path);
    EXPECT_TRUE(db.writable());
  }
  auto c = store::Connection::open(path, store::Access::read_only);
  EXPECT_EQ(c.user_version(), 3);
  auto mode = c.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "wal");
}

TEST(TuningDb, OfferWinnerKeepsTheFasterEntry) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  const auto k = key("N1 C4 H8 W8");
  EXPECT_TRUE(db.offer_winner(winner(k, "step=1 tile=256", 2.0)));
  EXPECT_FALSE(db.offer_winner(winner(k, "step=1 tile=1024", 3.0)));  // slower: ignored
  ASSERT_TRUE(db.find_winner(k));
  EXPECT_EQ(db.find_winner(k)->config, "step=1 tile=256");
  EXPECT_TRUE(db.offer_winner(winner(k, "step=1 tile=4096", 1.5)));  // faster: replaces
  EXPECT_EQ(db.find_winner(k)->config, "step=1 tile=4096");
  EXPECT_DOUBLE_EQ(db.find_winner(k)->time_ms, 1.5);
  EXPECT_FALSE(db.find_winner(key("N1 C4 H8 W8", Pass::backward_data)));  // pass is part of the key
  EXPECT_FALSE(db.find_winner(key("N1 C4 H8 W8", Pass::forward, "env-b")));  // so is the environment
}

TEST(TuningDb, KeepsEveryTrialIncludingFailures) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  const auto k = key("N1 C4 H8 W8");
  db.record_trial(Trial{k, "step=1 tile=0", true, 1.25, "", 0});
  db.record_trial(Trial{k, "step=1 tile=256", false, 0, "compile error: line 3", 0});
  const auto trials = db.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_TRUE(trials[0].ok);
  EXPECT_DOUBLE_EQ(trials[0].time_ms, 1.25);
  EXPECT_FALSE(trials[1].ok);
  EXPECT_EQ(trials[1].error, "compile error: line 3");
  EXPECT_GT(trials[1].created_at, 1700000000);  // a real unix time (2023 or later)
  // A failed trial's time is stored as NULL (infinite), never as a number that could win.
  auto c = store::Connection::open(db.path(), store::Access::read_only);
  auto q = c.prepare("SELECT count(*) FROM trials WHERE status='failed' AND time_ms IS NULL");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 1);
}

TEST(TuningDb, MigratesAVersion1DatabaseKeepingItsWinners) {
  ScratchDirectory dir;
  const std::string path = dir.file("v1.sqlite");
  {
    // A database exactly as the version-1 schema wrote it.
    auto c = store::Connection::open(path, store::Access::read_write);
    ASSERT_EQ(store::migrate(c, TuningDb::migrations().first(1)), 1);
    c.execute(
        "INSERT INTO winners(problem, pass, backend, env, config, time_ms, created_at) "
        "VALUES('N1 C4 H8 W8', 'forward', 'cpu', 'env-a', 'step=1 tile=256', 0.75, 1700000000);"
        "INSERT INTO trials(problem, pass, backend, env, config, status, time_ms, error, created_at) "
        "VALUES('N1 C4 H8 W8', 'forward', 'cpu', 'env-a', 'step=1 tile=256', 'ok', 0.75, NULL, 1700000000);");
  }
  TuningDb db = TuningDb::open(path);
  auto found = db.find_winner(key("N1 C4 H8 W8"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->config, "step=1 tile=256");
  EXPECT_DOUBLE_EQ(found->time_ms, 0.75);
  EXPECT_EQ(found->key.layout, "NCHW");
  EXPECT_FALSE(found->default_time_ms);  // unknown to version 1
  ASSERT_EQ(db.trials().size(), 1u);
  EXPECT_EQ(db.trials()[0].key.layout, "NCHW");
  // The migrated table accepts current rows.
  EXPECT_TRUE(db.offer_winner(winner(key("N2 C4 H8 W8"), "im2col step=2 tile=0", 1.0)));
  EXPECT_EQ(store::Connection::open(path, store::Access::read_only).user_version(), 3);
}

// Version 2 spelled every knob of every backend in one string; version 3 names the algorithm and its
// own knobs, per backend. The configs are rewritten, nothing is lost; rows already in the new form
// (or that never had the old one) are left alone.
TEST(TuningDb, MigratesVersion2ConfigsToTheirAlgorithmsKnobs) {
  ScratchDirectory dir;
  const std::string path = dir.file("v2.sqlite");
  const char* old_cpu = "step=2 threads=256 ept=1 bwd=fused atomic=plain algo=0 cols=recompute tile=1024";
  const char* old_sim = "step=4 threads=128 ept=2 bwd=split atomic=warp algo=0 cols=recompute tile=0";
  const char* old_cuda = "step=8 threads=512 ept=4 bwd=fused atomic=plain algo=3 cols=recompute tile=0";
  {
    auto c = store::Connection::open(path, store::Access::read_write);
    ASSERT_EQ(store::migrate(c, TuningDb::migrations().first(2)), 2);
    auto insert = c.prepare(
        "INSERT INTO winners(problem, layout, pass, backend, env, config, time_ms, default_config, created_at) "
        "VALUES(?1, 'NCHW', 'forward', ?2, 'env', ?3, 1.0, ?4, 1700000000)");
    for (auto [problem, backend, config] :
         {std::tuple{"N1 C4 H8 W8", "cpu", old_cpu}, std::tuple{"N2 C4 H8 W8", "sim", old_sim},
          std::tuple{"N3 C4 H8 W8", "cuda", old_cuda}}) {
      insert.reset();
      insert.bind(1, std::string(problem));
      insert.bind(2, std::string(backend));
      insert.bind(3, std::string(config));
      insert.bind(4, std::string(config));
      ASSERT_FALSE(insert.step());
    }
    c.execute(std::string("INSERT INTO trials(problem, layout, pass, backend, env, config, status, time_ms, "
                          "created_at) VALUES('N1 C4 H8 W8', 'NCHW', 'forward', 'cpu', 'env', '") +
              old_cpu + "', 'ok', 1.0, 1700000000)");
  }
  TuningDb db = TuningDb::open(path);
  EXPECT_EQ(store::Connection::open(path, store::Access::read_only).user_version(), 3);
  auto config_of = [&](const char* problem, Backend backend) {
    TuningKey k = key(problem);
    k.backend = backend;
    k.env = "env";
    const auto w = db.find_winner(k);
    return w ? std::pair{w->config, w->default_config} : std::pair{std::string("(missing)"), std::string()};
  };
  EXPECT_EQ(config_of("N1 C4 H8 W8", Backend::cpu).first, "im2col step=2 tile=1024");
  EXPECT_EQ(config_of("N1 C4 H8 W8", Backend::cpu).second, "im2col step=2 tile=1024");
  EXPECT_EQ(config_of("N2 C4 H8 W8", Backend::sim).first, "im2col step=4 threads=128 items=2 bwd=split atomic=warp");
  EXPECT_EQ(config_of("N3 C4 H8 W8", Backend::cuda).first,
            "im2col step=8 threads=512 items=4 bwd=fused atomic=plain gemm_fwd=3 gemm_dcol=3 gemm_wgrad=3");
  ASSERT_EQ(db.trials().size(), 1u);
  EXPECT_EQ(db.trials()[0].config, "im2col step=2 tile=1024");
}

TEST(TuningDb, CorruptFileIsMovedAsideAndAFreshDatabaseStarted) {
  ScratchDirectory dir;
  const std::string path = dir.file("cache.sqlite");
  const std::string garbage(4096, 'x');
  std::ofstream(path, std::ios::binary) << garbage;
  ::testing::internal::CaptureStderr();
  TuningDb db = TuningDb::open(path);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("'" + path + "'"), std::string::npos) << log;
  EXPECT_NE(log.find("moved it to"), std::string::npos) << log;
  EXPECT_TRUE(db.writable());
  EXPECT_TRUE(db.winners().empty());
  int aside = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("cache.sqlite.corrupt-", 0) == 0) {
      ++aside;
      EXPECT_EQ(read_file(entry.path().string()), garbage);  // kept byte for byte
    }
  }
  EXPECT_EQ(aside, 1);
}

TEST(TuningDb, ForeignSqliteFileIsRefusedAndLeftUntouched) {
  ScratchDirectory dir;
  const std::string path = dir.file("photos.db");
  {
    auto c = store::Connection::open(path, store::Access::read_write);
    c.execute("CREATE TABLE albums(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO albums(name) VALUES('summer');");
  }
  const std::string before = read_file(path);
  try {
    TuningDb::open(path);
    FAIL() << "a foreign database was accepted";
  } catch (const store::StoreError& e) {
    EXPECT_EQ(e.kind(), store::StoreErrorKind::foreign_schema);
    EXPECT_EQ(e.code(), ErrorCode::CacheError);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("albums"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(path), before);
}

TEST(TuningDb, NewerSchemaVersionIsRefusedNamingTheFile) {
  ScratchDirectory dir;
  const std::string path = dir.file("future.sqlite");
  { TuningDb::open(path); }
  { store::Connection::open(path, store::Access::read_write).set_user_version(99); }
  try {
    TuningDb::open(path);
    FAIL() << "a newer schema was accepted";
  } catch (const store::StoreError& e) {
    EXPECT_EQ(e.kind(), store::StoreErrorKind::newer_schema);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
}

// Runs `body` in a child process without root's power to ignore permissions (as "nobody" when the
// tests run as root), and returns its exit status.
template <typename Body>
int run_unprivileged(Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(90);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// Tuned configs steer what is compiled and run: a database another user can write is refused, naming
// it, never read (core/file_trust.h); a directory open() creates is private.
TEST(TuningDb, DatabaseInADirectoryWritableByOthersIsRefused) {
  ScratchDirectory dir;
  const std::string path = dir.file("shared/cache.sqlite");
  { TuningDb::open(path).offer_winner(winner(key("N1 C4 H8 W8"), "step=1 tile=256", 2.0)); }
  EXPECT_EQ(fs::status(dir / "shared").permissions(), fs::perms::owner_all);
  fs::permissions(dir / "shared", fs::perms::all);
  for (TuningDb::Mode mode : {TuningDb::Mode::read_write, TuningDb::Mode::read_only}) {
    try {
      TuningDb::open(path, mode);
      ADD_FAILURE() << "opened a database in a world-writable directory";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::CacheError);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("writable by other users"), std::string::npos) << e.what();
    }
  }
}

// A file at user_version 1 without version 1's tables made the migration fail with its whole SQL script
// in the message. Now SQLite's reason and what it means, in one line.
TEST(TuningDb, FileClaimingAVersionItDoesNotHoldIsReportedWithoutTheMigrationScript) {
  ScratchDirectory dir;
  const std::string path = dir.file("v1.sqlite");
  { store::Connection::open(path, store::Access::read_write).set_user_version(1); }
  try {
    TuningDb::open(path);
    FAIL() << "opened";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot upgrade schema version 1 to 2"), std::string::npos) << message;
    EXPECT_NE(message.find("no such table: trials"), std::string::npos) << message;
    EXPECT_EQ(message.find("ALTER TABLE"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(TuningDb, ReadOnlyFileInReadOnlyDirectoryStillServesLookups) {
  ScratchDirectory dir;
  const std::string path = dir.file("cache.sqlite");
  {
    TuningDb db = TuningDb::open(path);
    db.offer_winner(winner(key("N1 C4 H8 W8"), "step=1 tile=256", 2.0));
  }  // closing the last connection checkpoints and removes the -wal and -shm files
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const int status = run_unprivileged([&] {
    try {
      TuningDb db = TuningDb::open(path);  // asks for read-write, falls back to read-only
      if (db.writable()) return 1;
      auto found = db.find_winner(key("N1 C4 H8 W8"));
      if (!found || found->config != "step=1 tile=256") return 2;
      if (db.offer_winner(winner(key("N9 C4 H8 W8"), "step=1 tile=0", 1.0))) return 3;  // not persisted
      db.record_trial(Trial{key("N9 C4 H8 W8"), "step=1 tile=0", true, 1.0, "", 0});  // quietly dropped
      return 0;
    } catch (const std::exception& e) {
      fprintf(stderr, "%s\n", e.what());
      return 4;
    }
  });
  EXPECT_EQ(status, 0) << "1: opened writable, 2: lookup failed, 3: write claimed success, 4: threw";
}

TEST(TuningDb, ProcessKilledMidTuningLosesNothingCommitted) {
  ScratchDirectory dir;
  const std::string path = dir.file("cache.sqlite");
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    TuningDb db = TuningDb::open(path);
    for (int i = 0; i < 20; ++i)
      db.record_trial(Trial{key("N1 C4 H8 W8"), "step=1 tile=0", true, double(i), "", 0});
    db.offer_winner(winner(key("N1 C4 H8 W8"), "step=1 tile=0", 0.5));
    // Leave a write transaction open, as if killed between BEGIN and COMMIT.
    auto c = store::Connection::open(path, store::Access::read_write);
    c.execute("BEGIN IMMEDIATE; INSERT INTO trials(problem, layout, pass, backend, env, config, status, time_ms, "
              "created_at) VALUES('uncommitted', 'NCHW', 'forward', 'cpu', 'env-a', 'step=1', 'ok', 1, 0);");
    (void)!write(pipe_fds[1], "k", 1);
    pause();
    _exit(0);
  }
  close(pipe_fds[1]);
  char byte = 0;
  ASSERT_EQ(read(pipe_fds[0], &byte, 1), 1);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(pipe_fds[0]);

  TuningDb db = TuningDb::open(path);
  EXPECT_EQ(db.trial_count(), 20);  // all committed trials, not the open transaction's row
  ASSERT_TRUE(db.find_winner(key("N1 C4 H8 W8")));
  auto c = store::Connection::open(path, store::Access::read_only);
  auto check = c.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
}

// Creation and migration wait on the lock like every other write. Two processes opening a new file at
// the same moment failed within 0.1 s ("'PRAGMA journal_mode=WAL' failed: database is locked") in
// about a third of the trials, once with the wrong diagnosis "an SQLite file of another program".
TEST(TuningDb, ProcessesCreatingTheSameNewDatabaseAtOnceAllSucceed) {
  constexpr int kTrials = 40, kProcesses = 6;
  int failures = 0;
  std::string first_failure;
  for (int trial = 0; trial < kTrials; ++trial) {
    ScratchDirectory dir;
    const std::string path = dir.file("new.sqlite");
    int start[2], report[2];
    ASSERT_EQ(pipe(start), 0);
    ASSERT_EQ(pipe(report), 0);
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
      const pid_t pid = fork();
      if (pid == 0) {
        close(start[1]);
        char go = 0;
        (void)!read(start[0], &go, 1);  // all children open at once
        std::string error;
        try {
          TuningDb db = TuningDb::open(path);
          db.record_trial(Trial{key("N1 C4 H8 W8"), "step=1 tile=0", true, 1.0, "", 0});
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (!error.empty()) (void)!write(report[1], error.data(), std::min<std::size_t>(error.size(), 400));
        _exit(error.empty() ? 0 : 1);
      }
      children.push_back(pid);
    }
    close(start[0]);
    close(report[1]);
    close(start[1]);  // EOF releases every child at once
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    }
    char text[512] = {};
    if (read(report[0], text, sizeof text - 1) > 0 && first_failure.empty()) first_failure = text;
    close(report[0]);
    if (failures == 0) {
      EXPECT_EQ(TuningDb::open(path).trial_count(), kProcesses);
    }
  }
  EXPECT_EQ(failures, 0) << "first failure: " << first_failure;
}

TEST(TuningDb, ClearRemovesWinnersAndTrials) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  db.offer_winner(winner(key("N1 C4 H8 W8"), "step=1 tile=0", 1.0));
  db.record_trial(Trial{key("N1 C4 H8 W8"), "step=1 tile=0", true, 1.0, "", 0});
  db.clear();
  EXPECT_TRUE(db.winners().empty());
  EXPECT_EQ(db.trial_count(), 0);
}

}  // namespace
}  // namespace dcnjit::tuner
