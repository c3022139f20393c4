// The real `dcnjit tune` binary on the cpu backend: two processes tuning into one file at once, a
// process killed with SIGKILL mid-tuning, a second run of the same problems that times nothing, and
// `--pass backward` / `--pass all` storing the winners an Engine's Plan then runs.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <fstream>
#include <thread>

#include "dcnjit/engine.h"
#include "dcnjit/error.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "runtime/store/connection.h"
#include "tests/support/run_dcnjit.h"
#include "tests/support/scratch_directory.h"
#include "tuner/autotuner.h"
#include "tuner/config_space.h"
#include "tuner/tuning_db.h"

extern char** environ;

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;

// Starts `dcnjit <args>` with stdout to `out_path` and stderr discarded; returns its pid.
pid_t spawn_cli(const std::vector<std::string>& args, const std::string& out_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> argv_storage{DCNJIT_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, DCNJIT_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string write_problems(const ScratchDirectory& dir, const std::string& name,
                           const std::vector<std::string>& lines) {
  const std::string path = dir.file(name);
  std::ofstream out(path);
  out << "# problems for the tuner's CLI tests\n";
  for (const auto& l : lines) out << l << "\n";
  return path;
}

bool integrity_ok(const std::string& db_path) {
  auto c = store::Connection::open(db_path, store::Access::read_only);
  auto q = c.prepare("PRAGMA integrity_check");
  return q.step() && q.column_text(0) == "ok";
}

const std::vector<std::string> kProblems = {
    "N1 C4 H8 W8 Co4 k3x3 p1 mask", "N2 C4 H8 W8 Co8 k3x3 p1",  "N1 C8 H6 W10 Co4 k3x3 s2 p1 mask",
    "N1 C4 H9 W9 Co4 k3x3 v1",      "N2 C8 H8 W8 Co8 k3x3 p1 og2 mask", "N1 C4 H7 W7 Co4 k3x3 d2 p2"};

TEST(TuneCliCpu, TwoConcurrentProcessesLeaveASoundDatabaseWithEveryWinner) {
  ScratchDirectory dir;
  const std::string db = dir.file("cache.sqlite");
  // Overlapping halves: problems 2 and 3 are tuned by both processes at the same time.
  const auto first = write_problems(dir, "a.txt", {kProblems.begin(), kProblems.begin() + 4});
  const auto second = write_problems(dir, "b.txt", {kProblems.begin() + 2, kProblems.end()});
  const auto tune = [&](const std::string& problems, const char* out) {
    return spawn_cli({"tune", "--problems", problems, "--cache", db, "--budget", "0.3", "--threads", "1", "--json"},
                     dir.file(out));
  };
  const pid_t a = tune(first, "a.out");
  const pid_t b = tune(second, "b.out");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  EXPECT_EQ(wait_exit_code(a), 0) << read_text(dir.file("a.out"));
  EXPECT_EQ(wait_exit_code(b), 0) << read_text(dir.file("b.out"));

  ASSERT_TRUE(integrity_ok(db));
  TuningDb tuning = TuningDb::open(db, TuningDb::Mode::read_only);
  const auto winners = tuning.winners();
  EXPECT_EQ(winners.size(), kProblems.size());  // one forward winner per problem, none lost
  for (const std::string& text : kProblems) {
    const std::string canonical = Problem::parse(text).to_string();
    const bool found =
        std::any_of(winners.begin(), winners.end(), [&](const Winner& w) { return w.key.problem == canonical; });
    EXPECT_TRUE(found) << canonical;
  }
  // Every trial of both processes is kept.
  int ok_trials = 0;
  for (const Trial& t : tuning.trials()) ok_trials += t.ok;
  EXPECT_GE(ok_trials, int(kProblems.size()) + 2);
}

TEST(TuneCliCpu, SecondRunOfTheSameProblemsTunesNothingAndIsFast) {
  ScratchDirectory dir;
  const std::string db = dir.file("cache.sqlite");
  const auto problems = write_problems(dir, "p.txt", {kProblems[0], kProblems[1]});
  const std::vector<std::string> args{"tune", "--problems", problems, "--cache", db, "--budget", "0.2", "--json"};
  ASSERT_EQ(wait_exit_code(spawn_cli(args, dir.file("1.out"))), 0);
  EXPECT_NE(read_text(dir.file("1.out")).find("{\"tuned\": 2, \"cached\": 0, \"failed\": 0"), std::string::npos)
      << read_text(dir.file("1.out"));
  const int64_t trials = TuningDb::open(db, TuningDb::Mode::read_only).trial_count();

  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_exit_code(spawn_cli(args, dir.file("2.out"))), 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(read_text(dir.file("2.out")).find("{\"tuned\": 0, \"cached\": 2, \"failed\": 0"), std::string::npos)
      << read_text(dir.file("2.out"));
  EXPECT_EQ(TuningDb::open(db, TuningDb::Mode::read_only).trial_count(), trials);  // nothing re-timed
  // Every row names the best time of each algorithm that ran, the cached ones from their stored trials.
  for (const char* out : {"1.out", "2.out"}) {
    const std::string text = read_text(dir.file(out));
    std::size_t rows = 0;
    for (std::size_t at = text.find("\"best_ms_by_algorithm\": {\"im2col\": "); at != std::string::npos;
         at = text.find("\"best_ms_by_algorithm\": {\"im2col\": ", at + 1))
      ++rows;
    EXPECT_EQ(rows, 2u) << text;
  }
  // "Well under a second per problem": process start, backend and database open included.
  EXPECT_LT(seconds, 2 * 0.5);
}

TEST(TuneCliCpu, ProcessKilledMidTuningLosesNothingCommitted) {
  ScratchDirectory dir;
  const std::string db = dir.file("cache.sqlite");
  // Enough work that the process is still tuning when killed: a generous budget per problem.
  const auto problems = write_problems(dir, "p.txt", {kProblems[0], kProblems[1], kProblems[2], kProblems[3]});
  const pid_t pid = spawn_cli({"tune", "--problems", problems, "--cache", db, "--budget", "30", "--threads", "1"},
                              dir.file("out"));
  ASSERT_GT(pid, 0);
  // Wait for a committed winner (the first problem done) and a few trials of the second.
  int64_t seen_trials = 0;
  bool seen_winner = false;
  for (int i = 0; i < 600 && !(seen_winner && seen_trials > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      TuningDb view = TuningDb::open(db, TuningDb::Mode::read_only);
      seen_trials = view.trial_count();
      seen_winner = !view.winners().empty();
    } catch (const Error&) {
      // Not created yet.
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(seen_winner) << "the tuner never committed a winner";

  ASSERT_TRUE(integrity_ok(db));
  TuningDb after = TuningDb::open(db);  // opens (and would recover the WAL) fine
  EXPECT_GE(after.trial_count(), seen_trials);
  EXPECT_GE(after.winners().size(), 1u);
}

TEST(TuneCliCpu, PassBackwardStoresTheWinnerThatCacheOnlyPlansRunBackward) {
  ScratchDirectory dir;
  const std::string db = dir.file("cache.sqlite");
  const std::string problem_text = "N2 C8 H8 W8 Co8 k3x3 p1 mask bias";
  const auto problems = write_problems(dir, "p.txt", {problem_text});
  ASSERT_EQ(wait_exit_code(spawn_cli({"tune", "--problems", problems, "--pass", "backward", "--cache", db, "--budget",
                                      "0.3", "--threads", "1", "--json"},
                                     dir.file("out"))),
            0)
      << read_text(dir.file("out"));
  const std::string out = read_text(dir.file("out"));
  EXPECT_NE(out.find("{\"tuned\": 1, \"cached\": 0, \"failed\": 0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"pass\": \"backward\", \"outputs\": [\"grad_x\", \"grad_offset\", \"grad_mask\", "
                     "\"grad_weight\", \"grad_bias\"]"),
            std::string::npos)
      << out;

  const Problem problem = Problem::parse(problem_text);
  EngineOptions options;
  options.backend = Backend::cpu;
  options.threads = 1;  // part of the cpu backend's environment, hence of the key
  options.cache_path = db;
  options.tuning = TuningPolicy::cache_only;
  auto backend = detail::make_cpu_backend(options);
  const TuningKey key = tuning_key(*backend, problem, Pass::backward);
  {
    TuningDb tuning = TuningDb::open(db, TuningDb::Mode::read_only);
    const auto stored = tuning.find_winner(key);
    ASSERT_TRUE(stored) << "no backward winner stored";
    EXPECT_NE(out.find("\"config\": \"" + stored->config + "\""), std::string::npos) << out;
    EXPECT_EQ(Engine(options).plan(problem).backward_config().to_string(), stored->config);
    EXPECT_EQ(tuning.winners().size(), 1u) << "--pass backward tunes neither forward nor a sub-pass";
  }
  // The winner may be the default config, which a Plan also gets without any row: a row naming
  // another config of the space must be followed too.
  const std::vector<Config> candidates = candidate_configs(*backend, problem, Pass::backward);
  ASSERT_GE(candidates.size(), 2u);
  const Config other = candidates[1];
  ASSERT_NE(other, backend->default_config(problem));
  TuningDb::open(db).replace_winner(Winner{key, other.to_string(), 1.0, "", std::nullopt, 0});
  const Plan plan = Engine(options).plan(problem);
  EXPECT_EQ(plan.backward_config(), other);
  EXPECT_EQ(plan.config(), backend->default_config(problem)) << "no forward row: the default";
}

TEST(TuneCliCpu, PassAllOnTheSmokePresetTunesForwardAndBackwardQuicklyThenNothing) {
  ScratchDirectory dir;
  const std::string db = dir.file("cache.sqlite");
  // The default budget (20 s per problem and pass): the smoke preset's spaces are small enough
  // that the search ends long before it.
  const std::vector<std::string> args{"tune", "--preset", "smoke", "--backend", "cpu", "--pass", "all",
                                      "--cache", db, "--json"};
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_exit_code(spawn_cli(args, dir.file("1.out"))), 0) << read_text(dir.file("1.out"));
  const double first_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string first = read_text(dir.file("1.out"));
  // 4 smoke problems x {forward, backward}.
  EXPECT_NE(first.find("{\"tuned\": 8, \"cached\": 0, \"failed\": 0"), std::string::npos) << first;
  EXPECT_EQ(first.find("backward_data"), std::string::npos) << "--pass all tunes no sub-pass";
  // A few seconds on an idle 2-core machine; the bound leaves room for a loaded CI runner while
  // still catching a search that spends its budget (8 x 20 s).
  EXPECT_LT(first_seconds, 20.0);
  const int64_t trials = TuningDb::open(db, TuningDb::Mode::read_only).trial_count();

  start = std::chrono::steady_clock::now();
  ASSERT_EQ(wait_exit_code(spawn_cli(args, dir.file("2.out"))), 0);
  const double second_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(read_text(dir.file("2.out")).find("{\"tuned\": 0, \"cached\": 8, \"failed\": 0"), std::string::npos)
      << read_text(dir.file("2.out"));
  EXPECT_EQ(TuningDb::open(db, TuningDb::Mode::read_only).trial_count(), trials);
  EXPECT_LT(second_seconds, 2.0);
}

TEST(TuneCliCpu, UnknownPresetIsAUsageErrorNamingTheKnownOnes) {
  ScratchDirectory dir;
  const pid_t pid = spawn_cli({"tune", "--preset", "nope", "--cache", dir.file("c.sqlite")}, dir.file("out"));
  EXPECT_EQ(wait_exit_code(pid), 1);
}

// A row that failed showed no reason outside --json. Here the database is locked by another process for
// longer than a write waits (10 s): the table is followed by the reason.
TEST(TuneCli, FailedRowsShowTheirReasonBelowTheTable) {
  ScratchDirectory dir;
  const std::string db_path = dir.file("locked.sqlite");
  { TuningDb::open(db_path); }
  store::Connection holder = store::Connection::open(db_path, store::Access::read_write);
  holder.execute("BEGIN IMMEDIATE");  // held for the whole run
  std::ofstream(dir.file("p.txt")) << "N1 C4 H9 W8 Co4 k3x3 p1x1\n";
  const auto result =
      dcnjit::testing::run_dcnjit({"tune", "--problems", dir.file("p.txt"), "--budget", "1", "--cache", db_path});
  holder.execute("ROLLBACK");
  EXPECT_NE(result.output.find("failed: N1 C4 H9 W8 Co4 k3x3 s1x1 p1x1 d1x1 g1 og1 nomask nobias v2 f32 forward: "),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("database is locked"), std::string::npos) << result.output;
}

// DCNJIT_CACHE naming a directory said "not writable", then "disk I/O error".
TEST(TuneCli, CacheThatIsADirectoryIsNamedAsSuch) {
  ScratchDirectory dir;
  std::ofstream(dir.file("p.txt")) << "N1 C4 H8 W8 Co4 k3x3 p1x1\n";
  const auto result = dcnjit::testing::run_dcnjit({"tune", "--problems", dir.file("p.txt")},
                                                  {{"DCNJIT_CACHE", dir.path().string()}});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("is a directory; name a database file"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("not writable"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("disk I/O"), std::string::npos) << result.output;
}

// `tune --problems DIR` said the directory "holds no problem".
TEST(TuneCli, ProblemsFileThatIsADirectoryIsNamedAsSuch) {
  ScratchDirectory dir;
  const auto result = dcnjit::testing::run_dcnjit({"tune", "--problems", dir.path().string()},
                                                  {{"DCNJIT_CACHE", dir.file("c.sqlite")}});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("problems file '" + dir.path().string() + "': is a directory, not a file"),
            std::string::npos)
      << result.output;
}

// An empty file was "schema version 0 and read-only" although it can be written: `cache list` only reads.
TEST(TuneCli, EmptyDatabaseListedIsEmptyNotReadOnly) {
  ScratchDirectory dir;
  std::ofstream(dir.file("empty.sqlite"));
  const auto result = dcnjit::testing::run_dcnjit({"cache", "list", "--cache", dir.file("empty.sqlite")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("is empty (no dcnjit schema yet); this command only reads it"), std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("read-only"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace dcnjit::tuner
