// The SIMT shim and the block executor, exercised by small CUDA kernels compiled at run time through
// the sim's compiler path. Expected values are computed here on the host by direct loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "dcnjit/error.h"
#include "tests/runtime/sim/sim_test_kernels.h"

namespace dcnjit::sim {
namespace {

using testing::all_orders;
using testing::launch;
using testing::load_kernel;

// Integer-valued inputs keep every float sum exact, so results compare with ==.
std::vector<float> integer_ramp(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[std::size_t(i)] = float((i * 7) % 13) - 6.0f;
  return v;
}

// Block reduction through static shared memory with a barrier per tree level.
constexpr const char* kBlockReduce = R"(
struct Params { const float* in; float* out; int n; };
extern "C" __global__ void block_reduce(Params p) {
  __shared__ float partial[128];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  partial[t] = i < unsigned(p.n) ? p.in[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t == 0) p.out[blockIdx.x] = partial[0];
}
)";
struct ReduceParams {
  const float* in;
  float* out;
  int n;
};

TEST(SimShim, BlockReductionThroughSharedMemoryMatchesHostSumsUnderEveryOrder) {
  auto* kernel = load_kernel("block_reduce", kBlockReduce);
  const int n = 1000, block = 128, grid = (n + block - 1) / block;
  const std::vector<float> in = integer_ramp(n);
  std::vector<float> expected(grid, 0.0f);
  for (int i = 0; i < n; ++i) expected[std::size_t(i / block)] += in[std::size_t(i)];
  for (const ThreadOrder& order : all_orders()) {
    std::vector<float> out(grid, -1.0f);
    launch(kernel, grid, block, ReduceParams{in.data(), out.data(), n}, 0, order);
    EXPECT_EQ(out, expected) << order.to_string();
  }
}

// Tiled transpose: a 2-D block loads a tile into shared memory, barrier, writes it transposed.
constexpr const char* kTranspose = R"(
struct Params { const int* in; int* out; int rows, cols; };
constexpr int kTile = 8;
extern "C" __global__ void tiled_transpose(Params p) {
  __shared__ int tile[kTile][kTile + 1];
  const int tiles_x = (p.cols + kTile - 1) / kTile;
  const int bx = blockIdx.x % tiles_x, by = blockIdx.x / tiles_x;
  int r = by * kTile + threadIdx.y, c = bx * kTile + threadIdx.x;
  if (r < p.rows && c < p.cols) tile[threadIdx.y][threadIdx.x] = p.in[r * p.cols + c];
  __syncthreads();
  // Thread (x, y) now writes out[c'][r'] with c' = bx*kTile + y, r' = by*kTile + x.
  r = by * kTile + threadIdx.x;
  c = bx * kTile + threadIdx.y;
  if (r < p.rows && c < p.cols) p.out[c * p.rows + r] = tile[threadIdx.x][threadIdx.y];
}
)";
struct TransposeParams {
  const int* in;
  int* out;
  int rows, cols;
};

TEST(SimShim, TiledTransposeWithBarrierIsExactUnderEveryOrder) {
  auto* kernel = load_kernel("tiled_transpose", kTranspose);
  const int rows = 19, cols = 27, tile = 8;
  std::vector<int> in(std::size_t(rows * cols));
  std::iota(in.begin(), in.end(), 100);
  const unsigned grid = unsigned(((rows + tile - 1) / tile) * ((cols + tile - 1) / tile));
  for (const ThreadOrder& order : all_orders()) {
    std::vector<int> out(in.size(), -1);
    detail::LaunchDims dims;
    dims.grid[0] = grid;
    dims.block[0] = tile;
    dims.block[1] = tile;
    testing::shared_device().set_thread_order(order);
    TransposeParams params{in.data(), out.data(), rows, cols};
    testing::shared_device().launch(kernel, dims, &params, sizeof params);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        ASSERT_EQ(out[std::size_t(c * rows + r)], in[std::size_t(r * cols + c)])
            << "r=" << r << " c=" << c << " order " << order.to_string();
  }
}

// Atomic histogram over global memory: many blocks (running on two workers) hit the same bins.
constexpr const char* kHistogram = R"(
struct Params { const int* values; unsigned* bins; float* total; int n; int bin_count; };
extern "C" __global__ void atomic_histogram(Params p) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
    atomicAdd(&p.bins[p.values[i] % p.bin_count], 1u);
    atomicAdd(p.total, 1.0f);
  }
}
)";
struct HistogramParams {
  const int* values;
  unsigned* bins;
  float* total;
  int n;
  int bin_count;
};

TEST(SimShim, AtomicHistogramCountsEveryValueAcrossConcurrentBlocks) {
  auto* kernel = load_kernel("atomic_histogram", kHistogram);
  const int n = 20000, bins = 7;
  std::vector<int> values(n);
  for (int i = 0; i < n; ++i) values[std::size_t(i)] = (i * 31 + 5) % 1000;
  std::vector<unsigned> expected(bins, 0);
  for (int v : values) ++expected[std::size_t(v % bins)];
  std::vector<unsigned> counts(bins, 0);
  float total = 0.0f;  // 20000 increments of 1.0f are exact in f32
  launch(kernel, 64, 64, HistogramParams{values.data(), counts.data(), &total, n, bins});
  EXPECT_EQ(counts, expected);
  EXPECT_EQ(total, float(n));
}

// Warp reduction with __shfl_xor_sync (butterfly) and __shfl_down_sync (tree), one result per warp.
constexpr const char* kWarpReduce = R"(
struct Params { const int* in; int* xor_sums; int* down_sums; int* lane0_broadcast; };
extern "C" __global__ void warp_reduce(Params p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  int butterfly = p.in[i], tree = p.in[i];
  for (int d = 16; d > 0; d /= 2) {
    butterfly += __shfl_xor_sync(0xffffffffu, butterfly, d);
    tree += __shfl_down_sync(0xffffffffu, tree, d);
  }
  const int warp = i / 32, lane = threadIdx.x % 32;
  // Every lane holds the butterfly sum; check lane 31's copy through a broadcast from lane 31.
  const int from_last = __shfl_sync(0xffffffffu, butterfly, 31);
  if (lane == 0) {
    p.xor_sums[warp] = from_last;
    p.down_sums[warp] = tree;
  }
  p.lane0_broadcast[i] = __shfl_sync(0xffffffffu, p.in[i], 0);
}
)";
struct WarpReduceParams {
  const int* in;
  int* xor_sums;
  int* down_sums;
  int* lane0_broadcast;
};

TEST(SimShim, WarpShuffleReductionsMatchHostSumsUnderEveryOrder) {
  auto* kernel = load_kernel("warp_reduce", kWarpReduce);
  const int blocks = 3, block = 64, n = blocks * block, warps = n / 32;
  std::vector<int> in(n);
  for (int i = 0; i < n; ++i) in[std::size_t(i)] = (i * 17) % 23 - 11;
  std::vector<int> expected(warps, 0), broadcast(n);
  for (int i = 0; i < n; ++i) {
    expected[std::size_t(i / 32)] += in[std::size_t(i)];
    broadcast[std::size_t(i)] = in[std::size_t(i / 32 * 32)];
  }
  for (const ThreadOrder& order : all_orders()) {
    std::vector<int> xor_sums(warps, -1), down_sums(warps, -1), lane0(n, -1);
    launch(kernel, blocks, block, WarpReduceParams{in.data(), xor_sums.data(), down_sums.data(), lane0.data()}, 0,
           order);
    EXPECT_EQ(xor_sums, expected) << order.to_string();
    EXPECT_EQ(down_sums, expected) << order.to_string();
    EXPECT_EQ(lane0, broadcast) << order.to_string();
  }
}

// Votes and matches: ballot of odd values, any/all, match_any on value classes, __syncthreads_count.
constexpr const char* kVotes = R"(
struct Params { const int* in; unsigned* ballots; int* any; int* all; unsigned* matches; int* block_counts; };
extern "C" __global__ void warp_votes(Params p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int v = p.in[i];
  const unsigned ballot = __ballot_sync(0xffffffffu, v & 1);
  const int any = __any_sync(0xffffffffu, v > 100);
  const int all = __all_sync(0xffffffffu, v >= 0);
  p.matches[i] = __match_any_sync(0xffffffffu, v % 3);
  const int count = __syncthreads_count(v & 1);
  if (threadIdx.x % 32 == 0) {
    p.ballots[i / 32] = ballot;
    p.any[i / 32] = any;
    p.all[i / 32] = all;
  }
  if (threadIdx.x == 0) p.block_counts[blockIdx.x] = count;
}
)";
struct VoteParams {
  const int* in;
  unsigned* ballots;
  int* any;
  int* all;
  unsigned* matches;
  int* block_counts;
};

TEST(SimShim, VotesMatchAndBarrierCountFollowCudaSemantics) {
  auto* kernel = load_kernel("warp_votes", kVotes);
  const int block = 64, n = 128, warps = n / 32;
  std::vector<int> in(n);
  for (int i = 0; i < n; ++i) in[std::size_t(i)] = (i * 5) % 11 + (i == 40 ? 200 : 0) - (i == 100 ? 50 : 0);
  std::vector<unsigned> ballots(warps), matches(n);
  std::vector<int> any(warps), all(warps), counts(n / block);
  launch(kernel, n / block, block, VoteParams{in.data(), ballots.data(), any.data(), all.data(), matches.data(),
                                              counts.data()});
  for (int w = 0; w < warps; ++w) {
    unsigned expected_ballot = 0;
    bool expected_any = false, expected_all = true;
    for (int lane = 0; lane < 32; ++lane) {
      const int v = in[std::size_t(w * 32 + lane)];
      if (v & 1) expected_ballot |= 1u << lane;
      expected_any |= v > 100;
      expected_all &= v >= 0;
    }
    EXPECT_EQ(ballots[std::size_t(w)], expected_ballot) << "warp " << w;
    EXPECT_EQ(any[std::size_t(w)], int(expected_any)) << "warp " << w;
    EXPECT_EQ(all[std::size_t(w)], int(expected_all)) << "warp " << w;
    for (int lane = 0; lane < 32; ++lane) {
      unsigned expected_match = 0;
      for (int other = 0; other < 32; ++other)
        if (in[std::size_t(w * 32 + other)] % 3 == in[std::size_t(w * 32 + lane)] % 3) expected_match |= 1u << other;
      EXPECT_EQ(matches[std::size_t(w * 32 + lane)], expected_match) << "warp " << w << " lane " << lane;
    }
  }
  for (int b = 0; b < n / block; ++b) {
    int odd = 0;
    for (int t = 0; t < block; ++t) odd += in[std::size_t(b * block + t)] & 1;
    EXPECT_EQ(counts[std::size_t(b)], odd) << "block " << b;
  }
}

// Dynamic shared memory (extern __shared__): each block reverses its slice through it. The arena is
// sized at launch; two launches with different sizes must both work.
constexpr const char* kDynamicShared = R"(
struct Params { const double* in; double* out; };
extern "C" __global__ void dynamic_shared_reverse(Params p) {
  extern __shared__ __align__(16) double staged[];
  const unsigned t = threadIdx.x, base = blockIdx.x * blockDim.x;
  staged[t] = p.in[base + t];
  __syncthreads();
  p.out[base + t] = staged[blockDim.x - 1 - t];
}
)";
struct DynamicSharedParams {
  const double* in;
  double* out;
};

TEST(SimShim, DynamicSharedMemoryIsSizedPerLaunchAndShared) {
  auto* kernel = load_kernel("dynamic_shared_reverse", kDynamicShared);
  for (unsigned block : {32u, 96u}) {
    const unsigned grid = 5, n = grid * block;
    std::vector<double> in(n), out(n, -1.0);
    std::iota(in.begin(), in.end(), 0.5);
    for (const ThreadOrder& order : {ThreadOrder::in_order(), ThreadOrder::reversed()}) {
      launch(kernel, grid, block, DynamicSharedParams{in.data(), out.data()}, unsigned(block * sizeof(double)),
             order);
      for (unsigned b = 0; b < grid; ++b)
        for (unsigned t = 0; t < block; ++t)
          ASSERT_EQ(out[b * block + t], in[b * block + block - 1 - t]) << "block size " << block << " b " << b;
    }
  }
}

// Per-block shared memory: every block fills a static shared array with its own id over several
// barrier phases (so blocks on the two workers interleave), then counts entries that are not its id.
constexpr const char* kIsolation = R"(
struct Params { int* foreign_entries; };
extern "C" __global__ void shared_isolation(Params p) {
  __shared__ int owner[64];
  int foreign = 0;
  for (int round = 0; round < 8; ++round) {
    owner[threadIdx.x] = int(blockIdx.x) * 100 + round;
    __syncthreads();
    for (int k = 0; k < 64; ++k) foreign += owner[k] != int(blockIdx.x) * 100 + round;
    __syncthreads();
  }
  atomicAdd(&p.foreign_entries[blockIdx.x], foreign);
}
)";

TEST(SimShim, BlocksNeverSeeEachOthersSharedMemory) {
  auto* kernel = load_kernel("shared_isolation", kIsolation);
  ASSERT_GE(testing::shared_device().threads(), 2u) << "isolation needs concurrently running blocks";
  const unsigned grid = 48;
  std::vector<int> foreign(grid, 0);
  struct {
    int* foreign_entries;
  } params{foreign.data()};
  launch(kernel, grid, 64, params);
  EXPECT_EQ(foreign, std::vector<int>(grid, 0));
}

// The racy kernel: each thread writes its value to shared memory and reads its right neighbour's
// WITHOUT a barrier in between. Whether the neighbour has written yet depends on the thread order,
// so the result differs between orders: this is the bug class the order switch exists to expose.
// The fixed kernel (with the barrier) gives the same, correct result under every order.
constexpr const char* kNeighbourRacy = R"(
struct Params { const int* in; int* out; };
extern "C" __global__ void neighbour_sum_racy(Params p) {
  __shared__ int values[64];
  const unsigned t = threadIdx.x;
  values[t] = p.in[t];
  // BUG (deliberate): missing __syncthreads() here.
  p.out[t] = values[t] + values[(t + 1) % blockDim.x];
  // Leave a sentinel for the next launch on this worker: a thread that reads its neighbour too early
  // then sees -1000000 (or the initial 0), never the neighbour's input.
  __syncthreads();
  values[t] = -1000000;
}
)";
constexpr const char* kNeighbourFixed = R"(
struct Params { const int* in; int* out; };
extern "C" __global__ void neighbour_sum_fixed(Params p) {
  __shared__ int values[64];
  const unsigned t = threadIdx.x;
  values[t] = p.in[t];
  __syncthreads();
  p.out[t] = values[t] + values[(t + 1) % blockDim.x];
}
)";
struct NeighbourParams {
  const int* in;
  int* out;
};

std::vector<int> run_neighbour(detail::LoadedKernel* kernel, const std::vector<int>& in, ThreadOrder order) {
  std::vector<int> out(in.size(), 0);
  launch(kernel, 1, unsigned(in.size()), NeighbourParams{in.data(), out.data()}, 0, order);
  return out;
}

TEST(SimShim, ThreadOrderSwitchExposesAMissingBarrier) {
  std::vector<int> in(64);
  for (int i = 0; i < 64; ++i) in[std::size_t(i)] = i + 1;
  std::vector<int> correct(64);
  for (int i = 0; i < 64; ++i) correct[std::size_t(i)] = in[std::size_t(i)] + in[std::size_t((i + 1) % 64)];

  auto* fixed = load_kernel("neighbour_sum_fixed", kNeighbourFixed);
  for (const ThreadOrder& order : all_orders()) EXPECT_EQ(run_neighbour(fixed, in, order), correct) << order.to_string();

  auto* racy = load_kernel("neighbour_sum_racy", kNeighbourRacy);
  const std::vector<int> in_order = run_neighbour(racy, in, ThreadOrder::in_order());
  const std::vector<int> reversed = run_neighbour(racy, in, ThreadOrder::reversed());
  EXPECT_NE(in_order, reversed) << "the racy kernel's result must depend on the thread order";
  // In order, thread t < 63 reads values[t+1] before thread t+1 stored it; only thread 63 (whose
  // neighbour is thread 0) is right. Reversed, it is the other way round.
  for (int t = 0; t < 64; ++t) {
    EXPECT_EQ(in_order[std::size_t(t)] == correct[std::size_t(t)], t == 63) << "in order, thread " << t;
    EXPECT_EQ(reversed[std::size_t(t)] == correct[std::size_t(t)], t != 63) << "reversed, thread " << t;
  }
}

}  // namespace
}  // namespace dcnjit::sim
