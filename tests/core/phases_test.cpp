// ScopedPhase (core/phases.h): records a phase when a sink listens, and never throws from its
// destructor: a failing closing synchronization is handed to the owner's error slot instead.
#include "core/phases.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace dcnjit::detail {
namespace {

class Recorder : public PhaseSink {
 public:
  void record(const PhaseStats& stats) override { names.push_back(stats.name); }
  std::vector<std::string> names;
};

TEST(ScopedPhase, RecordsWhenASinkListensAndSynchronizesAroundTheScope) {
  Recorder sink;
  int syncs = 0;
  { ScopedPhase phase(&sink, "im2col", 1.0, 2.0, 0, [&] { ++syncs; }); }
  EXPECT_EQ(sink.names, std::vector<std::string>{"im2col"});
  EXPECT_EQ(syncs, 2);
  { ScopedPhase silent(nullptr, "gemm", 1.0, 2.0, 0, [&] { ++syncs; }); }
  EXPECT_EQ(syncs, 2) << "no sink: no synchronization";
}

TEST(ScopedPhase, AFailingClosingSyncGoesToTheErrorSlotNotOutOfTheDestructor) {
  Recorder sink;
  std::exception_ptr error;
  int calls = 0;
  auto sync = [&] {
    if (++calls == 2) throw std::runtime_error("illegal address");
  };
  EXPECT_NO_THROW({ ScopedPhase phase(&sink, "col2im", 0, 0, 0, sync, nullptr, &error); });
  EXPECT_TRUE(sink.names.empty()) << "a phase whose end failed has no time";
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "illegal address");
  }
}

TEST(ScopedPhase, KeepsTheFirstErrorInTheSlot) {
  Recorder sink;
  std::exception_ptr error = std::make_exception_ptr(std::runtime_error("first"));
  { ScopedPhase phase(&sink, "gemm", 0, 0, 0, [] {}, nullptr, &error); }
  int calls = 0;
  auto failing_close = [&] {
    if (++calls == 2) throw std::runtime_error("second");
  };
  { ScopedPhase phase(&sink, "gemm", 0, 0, 0, failing_close, nullptr, &error); }
  try {
    std::rethrow_exception(error);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
}

}  // namespace
}  // namespace dcnjit::detail
