// The shim's cp.async (shim/simt_pipeline.h): commit/wait-group semantics on a double-buffered
// kernel (tensor_core_kernels.h) that is right with __pipeline_wait_prior(1), reads stale shared
// memory when it waits for too little or not at all, zero fill, bad arguments, and the counters.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "dcnjit/error.h"
#include "tests/runtime/sim/sim_test_kernels.h"
#include "tests/runtime/sim/tensor_core_kernels.h"

namespace dcnjit::sim {
namespace {

using testing::kernel_source;
using testing::load_kernel;
using testing::shared_device;

struct DoubleBufferParams {
  const float* in;
  float* out;
  int tiles;
  int prior;
};

constexpr int kTiles = 5, kThreads = 64;

std::vector<float> run_double_buffer(int prior, ThreadOrder order = ThreadOrder::in_order(), bool counting = false) {
  auto* kernel = load_kernel("async_double_buffer", kernel_source("async_double_buffer"));
  std::vector<float> in(kTiles * kThreads);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(i % 97) + 0.25f;
  float* device_in = static_cast<float*>(shared_device().allocate(in.size() * 4));
  float* device_out = static_cast<float*>(shared_device().allocate(kThreads * 4));
  std::memcpy(device_in, in.data(), in.size() * 4);
  shared_device().set_counting(counting);
  testing::launch(kernel, 1, kThreads, DoubleBufferParams{device_in, device_out, kTiles, prior},
                  2 * kThreads * sizeof(float), order);
  shared_device().set_counting(false);
  std::vector<float> out(device_out, device_out + kThreads);
  shared_device().release(device_in);
  shared_device().release(device_out);
  return out;
}

std::vector<float> expected_sums() {
  std::vector<float> sums(kThreads, 0.0f);
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kTiles; ++i) sums[std::size_t(t)] += float((i * kThreads + (t + 1) % kThreads) % 97) + 0.25f;
  return sums;
}

TEST(SimAsyncCopy, DoubleBufferedKernelThatWaitsForEachStageIsRightUnderEveryOrder) {
  for (const ThreadOrder& order : testing::all_orders())
    EXPECT_EQ(run_double_buffer(1, order), expected_sums()) << order.to_string();
}

// Dynamic shared memory starts as NaN in the sim, so any read of a stage that has not landed shows.
TEST(SimAsyncCopy, AKernelThatForgetsTheWaitReadsStaleSharedMemory) {
  for (float sum : run_double_buffer(-1)) EXPECT_TRUE(std::isnan(sum));
}

TEST(SimAsyncCopy, WaitingForTooFewGroupsReadsTheStageStillInFlight) {
  // wait_prior(2) leaves the newest two groups pending: at step i that includes tile i itself.
  for (float sum : run_double_buffer(2)) EXPECT_TRUE(std::isnan(sum));
}

TEST(SimAsyncCopy, ZeroFillCopiesTheHeadAndZerosTheTail) {
  auto* kernel = load_kernel("async_zero_fill", kernel_source("async_zero_fill"));
  struct Params {
    const void* in;
    void* out;
  };
  std::vector<float> in(32 * 4), out(32 * 4, -1.0f);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(i + 1);
  testing::launch(kernel, 1, 32, Params{in.data(), out.data()});
  for (int t = 0; t < 32; ++t)
    for (int e = 0; e < 4; ++e) {
      const int copied = 4 - t % 4;  // floats copied; the rest of the 16 bytes is zero fill
      EXPECT_EQ(out[std::size_t(t * 4 + e)], e < copied ? in[std::size_t(t * 4 + e)] : 0.0f) << "t=" << t << " e=" << e;
    }
}

TEST(SimAsyncCopy, MisalignedCopiesTrapWithTheReason) {
  const std::string source = R"(
#include <cuda_pipeline.h>
struct Params { const char* in; };
extern "C" __global__ void misaligned_async_copy(Params p) {
  __shared__ float4 staging[1];
  __pipeline_memcpy_async(&staging[0], p.in + 4, 16);
}
)";
  auto* kernel = load_kernel("misaligned_async_copy", source);
  alignas(16) char in[64] = {};
  const char* pointer = in;
  try {
    testing::launch(kernel, 1, 1, pointer);
    FAIL() << "expected a trap";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_NE(std::string(e.what()).find("not aligned to size_and_align"), std::string::npos) << e.what();
  }
}

TEST(SimAsyncCopy, CountsEachCopyAsAGlobalLoadAndASharedStore) {
  EXPECT_EQ(run_double_buffer(1, ThreadOrder::in_order(), /*counting=*/true), expected_sums());
  const detail::KernelCounters c = shared_device().last_launch_counters();
  const uint64_t warps = kThreads / 32;
  // Per warp: kTiles copies of 32 consecutive floats (4 sectors), kTiles shared reads, one store.
  EXPECT_EQ(c.global_load_requests, warps * kTiles);
  EXPECT_EQ(c.global_load_sectors, warps * kTiles * 4);
  EXPECT_EQ(c.shared_requests, 2 * warps * kTiles);
  EXPECT_EQ(c.shared_bank_conflicts, 0u);
  EXPECT_EQ(c.global_store_requests, warps);
  EXPECT_EQ(c.barriers, uint64_t(2 * kTiles));
}

}  // namespace
}  // namespace dcnjit::sim
