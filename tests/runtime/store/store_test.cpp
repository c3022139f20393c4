// runtime/store: typed binds round-trip, the transaction guard rolls back, migrations apply in order
// exactly once, and bad files are classified.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/store/connection.h"
#include "runtime/store/migrations.h"
#include "runtime/store/store_error.h"
#include "runtime/store/transaction.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::store {
namespace {

using dcnjit::testing::ScratchDirectory;
namespace fs = std::filesystem;

int64_t count_rows(Connection& c, const char* table) {
  auto q = c.prepare(std::string("SELECT count(*) FROM ") + table);
  return q.step() ? q.column_int64(0) : -1;
}

TEST(StoreStatement, TypedBindsRoundTrip) {
  ScratchDirectory dir;
  auto c = Connection::open(dir.file("s.sqlite"), Access::read_write);
  c.execute("CREATE TABLE t(i INTEGER, d REAL, s TEXT, n TEXT)");
  auto insert = c.prepare("INSERT INTO t VALUES(?1, ?2, ?3, ?4)");
  const std::string text_with_nul("a\0b'c", 5);  // binds are not SQL text: quotes and NULs survive
  insert.bind(1, int64_t(1) << 40).bind(2, 0.125).bind(3, std::string_view(text_with_nul)).bind_null(4);
  insert.run();
  EXPECT_EQ(c.changes(), 1);
  auto select = c.prepare("SELECT i, d, s, n FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_int64(0), int64_t(1) << 40);
  EXPECT_EQ(select.column_double(1), 0.125);
  EXPECT_EQ(select.column_text(2), text_with_nul);
  EXPECT_TRUE(select.is_null(3));
  EXPECT_FALSE(select.column_optional_double(3));
  EXPECT_FALSE(select.step());
}

TEST(StoreTransaction, RollsBackUnlessCommitted) {
  ScratchDirectory dir;
  auto c = Connection::open(dir.file("s.sqlite"), Access::read_write);
  c.execute("CREATE TABLE t(i INTEGER)");
  {
    Transaction tx(c);
    c.execute("INSERT INTO t VALUES(1)");
  }  // no commit
  EXPECT_EQ(count_rows(c, "t"), 0);
  {
    Transaction tx(c);
    c.execute("INSERT INTO t VALUES(1)");
    tx.commit();
  }
  EXPECT_EQ(count_rows(c, "t"), 1);
}

constexpr Migration kTwoSteps[] = {
    {1, "table a", "CREATE TABLE a(x INTEGER);"},
    {2, "table b", "CREATE TABLE b(y INTEGER); INSERT INTO b VALUES(7);"},
};

TEST(StoreMigrations, ApplyInOrderOnceAndResumeFromAnOlderVersion) {
  ScratchDirectory dir;
  const std::string path = dir.file("m.sqlite");
  {
    auto c = Connection::open(path, Access::read_write);
    EXPECT_EQ(migrate(c, std::span(kTwoSteps).first(1)), 1);
    EXPECT_EQ(c.user_version(), 1);
  }
  auto c = Connection::open(path, Access::read_write);
  EXPECT_EQ(migrate(c, kTwoSteps), 2);
  EXPECT_EQ(migrate(c, kTwoSteps), 2);  // idempotent: migration 2's INSERT ran once
  EXPECT_EQ(count_rows(c, "b"), 1);
}

TEST(StoreMigrations, FailedMigrationLeavesThePreviousVersion) {
  ScratchDirectory dir;
  auto c = Connection::open(dir.file("m.sqlite"), Access::read_write);
  constexpr Migration broken[] = {
      {1, "table a", "CREATE TABLE a(x INTEGER);"},
      {2, "broken", "CREATE TABLE c(z INTEGER); CREATE TABLE a(x INTEGER);"},  // second statement fails
  };
  EXPECT_THROW(migrate(c, broken), StoreError);
  EXPECT_EQ(c.user_version(), 1);
  auto q = c.prepare("SELECT count(*) FROM sqlite_schema WHERE name='c'");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int64(0), 0);  // migration 2 rolled back as a whole
}

TEST(StoreConnection, NonSqliteFileIsClassifiedNotADatabase) {
  ScratchDirectory dir;
  const std::string path = dir.file("junk.sqlite");
  std::ofstream(path) << std::string(2048, '#');
  try {
    Connection::open(path, Access::read_write);
    FAIL() << "junk accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreErrorKind::not_a_database);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(StoreConnection, MissingDirectoryIsCannotOpenNamingThePath) {
  ScratchDirectory dir;
  const std::string path = dir.file("no/such/dir/x.sqlite");
  try {
    Connection::open(path, Access::read_write);
    FAIL() << "opened a file in a missing directory";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreErrorKind::cannot_open);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// What a database holds steers what dcnjit compiles and runs, so one that another user can write (or
// replace) is not opened at all (core/file_trust.h): kind untrusted, naming the file and the reason.
void expect_untrusted(const std::string& path, Access access, const std::string& reason) {
  try {
    Connection::open(path, access);
    ADD_FAILURE() << "opened " << path;
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreErrorKind::untrusted) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(StoreConnection, DatabaseInADirectoryWritableByOthersIsNotOpened) {
  ScratchDirectory dir;
  const std::string path = dir.file("shared/cache.sqlite");
  fs::create_directory(dir / "shared");
  { Connection::open(path, Access::read_write).execute("CREATE TABLE t(x)"); }
  fs::permissions(dir / "shared", fs::perms::all);
  expect_untrusted(path, Access::read_write, "is writable by other users (mode 0777)");
  expect_untrusted(path, Access::read_only, "is writable by other users (mode 0777)");
  expect_untrusted(dir.file("shared/new.sqlite"), Access::read_write, "its directory");
  EXPECT_FALSE(fs::exists(dir / "shared/new.sqlite"));
}

TEST(StoreConnection, DatabaseFileWritableByOthersIsNotOpened) {
  ScratchDirectory dir;
  const std::string path = dir.file("cache.sqlite");
  { Connection::open(path, Access::read_write).execute("CREATE TABLE t(x)"); }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::group_write | fs::perms::others_read | fs::perms::others_write);
  expect_untrusted(path, Access::read_write, "the file is writable by other users (mode 0666)");
}

TEST(StoreConnection, DatabaseFileOfAnotherUserIsNotOpened) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a file of another user";
  ScratchDirectory dir;
  const std::string path = dir.file("cache.sqlite");
  { Connection::open(path, Access::read_write).execute("CREATE TABLE t(x)"); }
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  expect_untrusted(path, Access::read_only, "is owned by uid 65534");
}

TEST(StoreConnection, SqlErrorNamesFileAndStatement) {
  ScratchDirectory dir;
  auto c = Connection::open(dir.file("s.sqlite"), Access::read_write);
  try {
    c.prepare("SELECT * FROM missing_table");
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("missing_table"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("s.sqlite"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dcnjit::store
