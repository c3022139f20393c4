// runtime/cpu/thread_pool.h: every item runs exactly once, reuse across jobs, exceptions reach the caller.
#include "runtime/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace dcnjit::cpu {
namespace {

TEST(ThreadPoolTest, EveryItemRunsExactlyOnceAcrossRepeatedJobs) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t count : {0, 1, 3, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(count));
      pool.parallel_for(count, [&](int64_t i) { hits[std::size_t(i)].fetch_add(1); });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[std::size_t(i)].load(), 1) << threads << " " << i;
    }
  }
}

TEST(ThreadPoolTest, ExceptionFromAnItemIsRethrownAndPoolStaysUsable) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.parallel_for(100,
                                 [&](int64_t i) {
                                   ran.fetch_add(1);
                                   if (i == 17) throw std::runtime_error("item 17");
                                 }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 100);  // the other items still ran
  std::atomic<int> again{0};
  pool.parallel_for(10, [&](int64_t) { again.fetch_add(1); });
  EXPECT_EQ(again.load(), 10);
}

}  // namespace
}  // namespace dcnjit::cpu
