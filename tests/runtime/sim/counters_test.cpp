// The sim's GPU memory counters on small CUDA kernels whose answers are known: each expected value
// is computed here from the kernel's access pattern (which addresses each lane of each warp touches),
// not by the code under test. Kernels run through the real compile path (the counting variant).
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <set>
#include <vector>

#include "tests/runtime/sim/sim_test_kernels.h"

namespace dcnjit::sim {
namespace {

using detail::KernelCounters;
using testing::load_kernel;
using testing::shared_device;

// Device memory (tracked as global by the device) holding a copy of `values`.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& values, SimKernelDevice& device = shared_device())
      : device_(device), size_(values.size()) {
    data_ = static_cast<T*>(device_.allocate(values.size() * sizeof(T)));
    std::memcpy(data_, values.data(), values.size() * sizeof(T));
  }
  explicit DeviceArray(std::size_t size, SimKernelDevice& device = shared_device())
      : DeviceArray(std::vector<T>(size), device) {}
  ~DeviceArray() { device_.release(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* data() const { return data_; }
  std::vector<T> values() const { return std::vector<T>(data_, data_ + size_); }

 private:
  SimKernelDevice& device_;
  std::size_t size_;
  T* data_;
};

// Runs one counting launch on `device` and returns its counters.
template <typename Params>
KernelCounters count_launch(detail::LoadedKernel* kernel, detail::LaunchDims dims, const Params& params,
                            SimKernelDevice& device = shared_device(), ThreadOrder order = ThreadOrder::in_order()) {
  device.set_thread_order(order);
  device.set_counting(true);
  device.launch(kernel, dims, &params, sizeof params);
  device.set_counting(false);
  return device.last_launch_counters();
}

detail::LaunchDims dims_1d(unsigned grid, unsigned block) {
  detail::LaunchDims dims;
  dims.grid[0] = grid;
  dims.block[0] = block;
  return dims;
}

// Distinct 32-byte sectors of the byte ranges [address, address + bytes) (offsets into one region).
uint64_t sectors(const std::vector<uint64_t>& addresses, uint64_t bytes) {
  std::set<uint64_t> distinct;
  for (uint64_t a : addresses)
    for (uint64_t s = a / 32; s <= (a + bytes - 1) / 32; ++s) distinct.insert(s);
  return distinct.size();
}

constexpr const char* kStridedCopy = R"(
struct Params { const float* in; float* out; int n; int stride; };
extern "C" __global__ void strided_copy(Params p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) p.out[i] = p.in[i * p.stride];
}
)";
struct StridedCopyParams {
  const float* in;
  float* out;
  int n;
  int stride;
};

TEST(SimCounters, CoalescedCopyTouchesFourSectorsPerRequest) {
  auto* kernel = load_kernel("strided_copy", kStridedCopy);
  const int n = 4096;
  std::vector<float> host(n);
  std::iota(host.begin(), host.end(), 0.0f);
  DeviceArray<float> in(host), out{std::size_t(n)};
  const KernelCounters c = count_launch(kernel, dims_1d(n / 128, 128), StridedCopyParams{in.data(), out.data(), n, 1});
  // A warp reads 32 consecutive floats (128 bytes, 128-byte aligned): 4 sectors, and writes as many.
  EXPECT_EQ(c.global_load_requests, uint64_t(n / 32));
  EXPECT_EQ(c.global_load_sectors, uint64_t(n / 32 * 4));
  EXPECT_EQ(c.global_store_requests, uint64_t(n / 32));
  EXPECT_EQ(c.global_store_sectors, uint64_t(n / 32 * 4));
  EXPECT_EQ(c.global_unique_sectors, uint64_t(2 * n * 4 / 32));
  EXPECT_EQ(c.shared_requests, 0u);
  EXPECT_EQ(c.atomic_requests, 0u);
  EXPECT_EQ(c.barriers, 0u);
  EXPECT_EQ(out.values(), host);
}

TEST(SimCounters, Stride32ReadTouchesThirtyTwoSectorsPerRequest) {
  auto* kernel = load_kernel("strided_copy", kStridedCopy);
  const int n = 2048, stride = 32;
  std::vector<float> host(std::size_t(n * stride));
  std::iota(host.begin(), host.end(), 0.0f);
  DeviceArray<float> in(host), out{std::size_t(n)};
  // 100 blocks of 32 threads for 2048 items: the last blocks have no active lane and issue nothing.
  const KernelCounters c = count_launch(kernel, dims_1d(100, 32), StridedCopyParams{in.data(), out.data(), n, stride});
  EXPECT_EQ(c.global_load_requests, uint64_t(n / 32));
  EXPECT_EQ(c.global_load_sectors, uint64_t(n));  // each lane its own 128-byte line
  EXPECT_EQ(c.global_store_requests, uint64_t(n / 32));
  EXPECT_EQ(c.global_store_sectors, uint64_t(n / 32 * 4));
  EXPECT_EQ(c.global_unique_sectors, uint64_t(n + n * 4 / 32));
}

TEST(SimCounters, PartialWarpsAndMisalignedRangesCountTheSectorsTheyTouch) {
  auto* kernel = load_kernel("strided_copy", kStridedCopy);
  // n = 50 with blocks of 48: warps of 32, 16 (block 0) and 2 active lanes (block 1, threads 0-1 of
  // its first warp); stride 3: lane l reads in[3 * i].
  const int n = 50, stride = 3;
  std::vector<float> host(std::size_t(n * stride));
  DeviceArray<float> in(host), out{std::size_t(n)};
  const KernelCounters c = count_launch(kernel, dims_1d(2, 48), StridedCopyParams{in.data(), out.data(), n, stride});
  uint64_t load_requests = 0, load_sectors = 0, store_requests = 0, store_sectors = 0;
  for (int block = 0; block < 2; ++block)
    for (int warp_first = 0; warp_first < 48; warp_first += 32) {
      std::vector<uint64_t> reads, writes;
      for (int t = warp_first; t < std::min(warp_first + 32, 48); ++t) {
        const int i = block * 48 + t;
        if (i >= n) continue;
        reads.push_back(uint64_t(i * stride) * 4);
        writes.push_back(uint64_t(i) * 4);
      }
      if (reads.empty()) continue;
      ++load_requests;
      ++store_requests;
      load_sectors += sectors(reads, 4);
      store_sectors += sectors(writes, 4);
    }
  EXPECT_EQ(c.global_load_requests, load_requests);
  EXPECT_EQ(c.global_load_sectors, load_sectors);
  EXPECT_EQ(c.global_store_requests, store_requests);
  EXPECT_EQ(c.global_store_sectors, store_sectors);
}

// A 32x32 tile per block of 32x32 threads: a coalesced load into shared memory, a barrier, then each
// warp reads a column of the tile. Without padding, the 32 lanes read words 32 apart: one bank, 32
// wavefronts (31 conflicts); with a row of 33 words they hit 32 different banks.
constexpr const char* kTransposeTemplate = R"(
struct Params { const float* in; float* out; int n; };
extern "C" __global__ void NAME(Params p) {
  __shared__ float tile[32][32 + PAD];
  const int tiles = p.n / 32;
  const int bx = blockIdx.x % tiles, by = blockIdx.x / tiles;
  tile[threadIdx.y][threadIdx.x] = p.in[(by * 32 + threadIdx.y) * p.n + bx * 32 + threadIdx.x];
  __syncthreads();
  p.out[(bx * 32 + threadIdx.y) * p.n + by * 32 + threadIdx.x] = tile[threadIdx.x][threadIdx.y];
}
)";
struct TransposeParams {
  const float* in;
  float* out;
  int n;
};

std::string transpose_source(const std::string& name, int pad) {
  std::string source = kTransposeTemplate;
  source.replace(source.find("NAME"), 4, name);
  source.replace(source.find("PAD"), 3, std::to_string(pad));
  return source;
}

KernelCounters count_transpose(const std::string& name, int pad, SimKernelDevice& device = shared_device(),
                               ThreadOrder order = ThreadOrder::in_order()) {
  gen::KernelSource source;
  source.name = name;
  source.source = transpose_source(name, pad);
  source.param_type = "Params";
  auto* kernel = device.load(source);
  const int n = 64;
  std::vector<float> host(std::size_t(n * n));
  std::iota(host.begin(), host.end(), 0.0f);
  DeviceArray<float> in(host, device), out{std::size_t(n * n), device};
  detail::LaunchDims dims;
  dims.grid[0] = (n / 32) * (n / 32);
  dims.block[0] = 32;
  dims.block[1] = 32;
  const KernelCounters c = count_launch(kernel, dims, TransposeParams{in.data(), out.data(), n}, device, order);
  const std::vector<float> result = out.values();
  for (int r = 0; r < n; ++r)
    for (int col = 0; col < n; ++col)
      EXPECT_EQ(result[std::size_t(col * n + r)], host[std::size_t(r * n + col)]) << name << " r=" << r;
  return c;
}

TEST(SimCounters, SharedTransposeHas31ExtraWavefrontsPerColumnReadWithoutPaddingAndNoneWithIt) {
  const uint64_t warps = 4 * 32;  // 4 blocks of 32 warps
  const KernelCounters plain = count_transpose("transpose_unpadded", 0);
  EXPECT_EQ(plain.shared_requests, 2 * warps);  // one row store, one column load per warp
  EXPECT_EQ(plain.shared_bank_conflicts, 31 * warps);
  EXPECT_EQ(plain.barriers, 4u);
  // The global side is coalesced both ways: rows of 32 floats in, rows of 32 floats out.
  EXPECT_EQ(plain.global_load_requests, warps);
  EXPECT_EQ(plain.global_load_sectors, 4 * warps);
  EXPECT_EQ(plain.global_store_requests, warps);
  EXPECT_EQ(plain.global_store_sectors, 4 * warps);

  const KernelCounters padded = count_transpose("transpose_padded", 1);
  EXPECT_EQ(padded.shared_requests, 2 * warps);
  EXPECT_EQ(padded.shared_bank_conflicts, 0u);
  EXPECT_EQ(padded.global_load_sectors, plain.global_load_sectors);
}

// Every lane of a warp adds to bin (i % bins) and to one total: bins - 1 ... distinct addresses per
// request, so lanes - distinct conflicts.
constexpr const char* kHistogram = R"(
struct Params { const int* values; unsigned* bins; unsigned* total; int n; };
extern "C" __global__ void counted_histogram(Params p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  atomicAdd(&p.bins[p.values[i]], 1u);
  atomicAdd(p.total, 1u);
}
)";
struct HistogramParams {
  const int* values;
  unsigned* bins;
  unsigned* total;
  int n;
};

TEST(SimCounters, HistogramAtomicsCountSameAddressConflictsWithinAWarp) {
  auto* kernel = load_kernel("counted_histogram", kHistogram);
  const int n = 1000, block = 64, bin_count = 8;
  std::vector<int> values(n);
  for (int i = 0; i < n; ++i) values[std::size_t(i)] = (i * 7 / 3) % bin_count;
  DeviceArray<int> device_values(values);
  DeviceArray<unsigned> bins{std::size_t(bin_count)}, total{std::size_t(1)};
  const KernelCounters c = count_launch(kernel, dims_1d((n + block - 1) / block, block),
                                        HistogramParams{device_values.data(), bins.data(), total.data(), n});
  uint64_t requests = 0, conflicts = 0, atomic_sectors = 0;
  for (int first = 0; first < n; first += 32) {
    std::set<int> distinct_bins;
    const int lanes = std::min(32, n - first);
    for (int i = first; i < first + lanes; ++i) distinct_bins.insert(values[std::size_t(i)]);
    requests += 2;  // the bin and the total
    conflicts += uint64_t(lanes - int(distinct_bins.size())) + uint64_t(lanes - 1);
    std::vector<uint64_t> bin_addresses;
    for (int b : distinct_bins) bin_addresses.push_back(uint64_t(b) * 4);
    atomic_sectors += sectors(bin_addresses, 4) + 1;
  }
  EXPECT_EQ(c.atomic_requests, requests);
  EXPECT_EQ(c.atomic_conflicts, conflicts);
  EXPECT_EQ(c.atomic_sectors, atomic_sectors);
  EXPECT_EQ(c.global_load_requests, uint64_t((n + 31) / 32));
  std::vector<unsigned> expected(bin_count, 0);
  for (int v : values) ++expected[std::size_t(v)];
  EXPECT_EQ(bins.values(), expected);
  EXPECT_EQ(total.values()[0], unsigned(n));
}

// Divergence: the grouping rule pairs the k-th execution of an instruction by each lane. A loop with
// lane-dependent trip counts (lane % 4) gives one request per iteration with the lanes still in it; a
// branch taken by 8 lanes is a request of 8.
constexpr const char* kDivergent = R"(
struct Params { const float* in; float* out; };
extern "C" __global__ void divergent_reads(Params p) {
  const int lane = threadIdx.x;
  float sum = 0.0f;
  for (int j = 0; j < lane % 4; ++j) sum += p.in[j * 32 + lane];
  if (lane < 8) sum += p.in[128 + lane * 32];
  p.out[lane] = sum;
}
)";

TEST(SimCounters, DivergentLanesFormRequestsByTheKthExecutionOfEachInstruction) {
  auto* kernel = load_kernel("divergent_reads", kDivergent);
  std::vector<float> host(128 + 8 * 32);
  std::iota(host.begin(), host.end(), 0.0f);
  DeviceArray<float> in(host), out{std::size_t(32)};
  struct Params {
    const float* in;
    float* out;
  };
  const KernelCounters c = count_launch(kernel, dims_1d(1, 32), Params{in.data(), out.data()});
  uint64_t requests = 0, load_sectors = 0;
  for (int k = 0; k < 3; ++k) {  // loop iteration k: the lanes whose trip count exceeds k
    std::vector<uint64_t> addresses;
    for (int lane = 0; lane < 32; ++lane)
      if (lane % 4 > k) addresses.push_back(uint64_t(k * 32 + lane) * 4);
    ++requests;
    load_sectors += sectors(addresses, 4);
  }
  std::vector<uint64_t> branch;
  for (int lane = 0; lane < 8; ++lane) branch.push_back(uint64_t(128 + lane * 32) * 4);
  ++requests;
  load_sectors += sectors(branch, 4);
  EXPECT_EQ(c.global_load_requests, requests);
  EXPECT_EQ(c.global_load_sectors, load_sectors);
  EXPECT_EQ(c.global_store_requests, 1u);
  EXPECT_EQ(c.global_store_sectors, 4u);
  std::vector<float> expected(32, 0.0f);
  for (int lane = 0; lane < 32; ++lane) {
    for (int j = 0; j < lane % 4; ++j) expected[std::size_t(lane)] += host[std::size_t(j * 32 + lane)];
    if (lane < 8) expected[std::size_t(lane)] += host[std::size_t(128 + lane * 32)];
  }
  EXPECT_EQ(out.values(), expected);
}

TEST(SimCounters, AreTheSameUnderEveryThreadOrderAndWorkerCount) {
  SimKernelDevice single(SimOptions{.threads = 1, .order = ThreadOrder::in_order()});
  const KernelCounters reference = count_transpose("transpose_unpadded", 0, single);
  for (const ThreadOrder& order : testing::all_orders()) {
    EXPECT_EQ(count_transpose("transpose_unpadded", 0, shared_device(), order), reference) << order.to_string();
  }
}

TEST(SimCounters, CountingLeavesResultsAndThePlainKernelUntouched) {
  auto* kernel = load_kernel("strided_copy", kStridedCopy);
  const int n = 256;
  std::vector<float> host(std::size_t(n * 2));
  std::iota(host.begin(), host.end(), 1.0f);
  DeviceArray<float> in(host), counted{std::size_t(n)}, plain{std::size_t(n)};
  count_launch(kernel, dims_1d(2, 128), StridedCopyParams{in.data(), counted.data(), n, 2});
  const KernelCounters before = shared_device().last_launch_counters();
  testing::launch(kernel, 2, 128, StridedCopyParams{in.data(), plain.data(), n, 2});
  EXPECT_EQ(counted.values(), plain.values());
  // A launch without counting counts nothing.
  EXPECT_EQ(shared_device().last_launch_counters(), before);
  EXPECT_EQ(shared_device().counter_totals(), nullptr);
}

TEST(SimCounters, MemoryOutsideTheGlobalRegionsIsNotCounted) {
  auto* kernel = load_kernel("strided_copy", kStridedCopy);
  const int n = 64;
  std::vector<float> in(std::size_t(n), 1.0f);
  std::vector<float> out(std::size_t(n), 0.0f);  // host vectors, not device memory
  KernelCounters c = count_launch(kernel, dims_1d(1, 64), StridedCopyParams{in.data(), out.data(), n, 1});
  EXPECT_EQ(c.global_load_requests, 0u);
  EXPECT_EQ(c.global_store_requests, 0u);
  // Tracked, they count.
  shared_device().track_global_memory(in.data(), in.size() * sizeof(float));
  c = count_launch(kernel, dims_1d(1, 64), StridedCopyParams{in.data(), out.data(), n, 1});
  shared_device().untrack_global_memory(in.data());
  EXPECT_EQ(c.global_load_requests, 2u);
  EXPECT_EQ(c.global_load_sectors, 8u);
  EXPECT_EQ(c.global_store_requests, 0u);
}

}  // namespace
}  // namespace dcnjit::sim
