// The shim's nvcuda::wmma emulation (shim/simt_wmma.h) on kernels written for the GPU
// (tensor_core_kernels.h): products against host references computed here (f32 sums in ascending k
// of exact products), results that do not depend on the fragment element order (and a kernel that
// does depend on it, caught), a divergent warp reported, and the MMA and memory counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "core/half.h"
#include "dcnjit/error.h"
#include "tests/runtime/sim/sim_test_kernels.h"
#include "tests/runtime/sim/tensor_core_kernels.h"

namespace dcnjit::sim {
namespace {

using testing::kernel_source;
using testing::load_kernel;
using testing::shared_device;

struct TileParams {
  const void* a;
  const void* b;
  float* c;
  int k;
  float scale;
};

// Device memory holding `bytes` bytes copied from `data`.
class DeviceBytes {
 public:
  DeviceBytes(const void* data, std::size_t bytes) : bytes_(bytes) {
    pointer_ = shared_device().allocate(bytes);
    if (data) std::memcpy(pointer_, data, bytes);
  }
  ~DeviceBytes() { shared_device().release(pointer_); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  void* get() const { return pointer_; }
  std::vector<float> floats() const {
    std::vector<float> out(bytes_ / 4);
    std::memcpy(out.data(), pointer_, bytes_);
    return out;
  }

 private:
  std::size_t bytes_;
  void* pointer_;
};

// Operands of a (16 * row_tiles) x k times k x (16 * col_tiles) product: A row-major, B stored
// column by column (B[kk][n] at b[n * k + kk]), 16-bit values from `to_bits`, which also returns
// the value each holds.
struct Operands {
  int row_tiles, col_tiles, k;
  std::vector<uint16_t> a, b;
  std::vector<float> a_value, b_value;
};

template <typename ToBits, typename FromBits>
Operands random_operands(int row_tiles, int col_tiles, int k, uint32_t seed, ToBits to_bits, FromBits from_bits) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-2.0f, 2.0f);
  Operands o{row_tiles, col_tiles, k, {}, {}, {}, {}};
  for (int i = 0; i < 16 * row_tiles * k; ++i) {
    o.a.push_back(to_bits(unit(rng)));
    o.a_value.push_back(from_bits(o.a.back()));
  }
  for (int i = 0; i < 16 * col_tiles * k; ++i) {
    o.b.push_back(to_bits(unit(rng)));
    o.b_value.push_back(from_bits(o.b.back()));
  }
  return o;
}

// C = scale * A * B, each entry summed in f32 from 0 in ascending k.
std::vector<float> reference_product(const std::vector<float>& a, const std::vector<float>& b, int rows, int cols,
                                     int k, float scale) {
  std::vector<float> c(std::size_t(rows * cols));
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      float sum = 0.0f;
      for (int kk = 0; kk < k; ++kk) sum += a[std::size_t(i * k + kk)] * b[std::size_t(j * k + kk)];
      c[std::size_t(i * cols + j)] = sum * scale;
    }
  return c;
}

std::vector<float> run_tile(const std::string& name, const Operands& o, float scale, uint64_t permutation,
                            ThreadOrder order = ThreadOrder::in_order()) {
  auto* kernel = load_kernel(name, kernel_source(name));
  DeviceBytes a(o.a.data(), o.a.size() * 2), b(o.b.data(), o.b.size() * 2);
  DeviceBytes c(nullptr, std::size_t(16 * o.row_tiles * 16 * o.col_tiles) * 4);
  detail::LaunchDims dims;
  dims.grid[0] = unsigned(o.row_tiles);
  dims.grid[1] = unsigned(o.col_tiles);
  dims.block[0] = 32;
  const TileParams params{a.get(), b.get(), static_cast<float*>(c.get()), o.k, scale};
  shared_device().set_wmma_permutation(permutation);
  shared_device().set_thread_order(order);
  shared_device().launch(kernel, dims, &params, sizeof params);
  shared_device().set_wmma_permutation(0);
  return c.floats();
}

Operands half_operands(int row_tiles, int col_tiles, int k, uint32_t seed) {
  return random_operands(row_tiles, col_tiles, k, seed, float_to_half, half_to_float);
}

TEST(SimWmma, F16TilesMatchExactProductsWithF32AccumulationUnderEveryOrderAndPermutation) {
  const Operands o = half_operands(2, 3, 48, 11);
  const std::vector<float> expected = reference_product(o.a_value, o.b_value, 32, 48, 48, 0.5f);
  for (uint64_t permutation : {uint64_t(0), uint64_t(1), uint64_t(987654321)})
    EXPECT_EQ(run_tile("wmma_tile_f16", o, 0.5f, permutation), expected) << "permutation " << permutation;
  for (const ThreadOrder& order : testing::all_orders())
    EXPECT_EQ(run_tile("wmma_tile_f16", o, 0.5f, 3, order), expected) << order.to_string();
}

TEST(SimWmma, Bf16TilesMatchExactProductsWithF32Accumulation) {
  const Operands o = random_operands(1, 2, 32, 5, float_to_bf16, bf16_to_float);
  const std::vector<float> expected = reference_product(o.a_value, o.b_value, 16, 32, 32, 1.0f);
  EXPECT_EQ(run_tile("wmma_tile_bf16", o, 1.0f, 0), expected);
  EXPECT_EQ(run_tile("wmma_tile_bf16", o, 1.0f, 42), expected);
}

// Round to nearest, ties away from zero, at 10 explicit mantissa bits (cvt.rna.tf32.f32), written
// here from the definition: the kept bits, plus one unit when the dropped 13 bits are at least half.
float tf32_reference(float value) {
  if (!std::isfinite(value)) return value;
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint32_t sign = bits & 0x80000000u, magnitude = bits & 0x7fffffffu;
  const uint32_t dropped = magnitude & 0x1fffu;
  uint32_t kept = magnitude >> 13;
  if (dropped >= 0x1000u) ++kept;  // a carry into the exponent is the correct rounding
  bits = sign | (kept << 13);
  std::memcpy(&value, &bits, 4);
  return value;
}

TEST(SimWmma, Tf32TileRoundsItsInputsToNearestTiesAwayAndAccumulatesInF32) {
  const int k = 24;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(-3.0f, 3.0f);
  std::vector<float> a(std::size_t(16 * k)), b(std::size_t(16 * k));
  for (float& v : a) v = unit(rng);
  for (float& v : b) v = unit(rng);
  // Ties: 1 + 2^-11 and -(1 + 3 * 2^-11) are halfway between two tf32 values; away from zero means up
  // in magnitude, where round-to-even would go down for the first.
  a[0] = 1.0f + std::ldexp(1.0f, -11);
  a[1] = -(1.0f + 3 * std::ldexp(1.0f, -11));
  ASSERT_EQ(tf32_reference(a[0]), 1.0f + std::ldexp(1.0f, -10));
  ASSERT_EQ(tf32_reference(a[1]), -(1.0f + 2 * std::ldexp(1.0f, -10)));
  std::vector<float> ra(a.size()), rb(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ra[i] = tf32_reference(a[i]);
  for (std::size_t i = 0; i < b.size(); ++i) rb[i] = tf32_reference(b[i]);
  const std::vector<float> expected = reference_product(ra, rb, 16, 16, k, 1.0f);

  auto* kernel = load_kernel("wmma_tile_tf32", kernel_source("wmma_tile_tf32"));
  DeviceBytes da(a.data(), a.size() * 4), db(b.data(), b.size() * 4), dc(nullptr, 256 * 4);
  for (uint64_t permutation : {uint64_t(0), uint64_t(8)}) {
    shared_device().set_wmma_permutation(permutation);
    testing::launch(kernel, 1, 32, TileParams{da.get(), db.get(), static_cast<float*>(dc.get()), k, 1.0f});
    shared_device().set_wmma_permutation(0);
    EXPECT_EQ(dc.floats(), expected) << "permutation " << permutation;
  }
}

TEST(SimWmma, AKernelThatDependsOnTheFragmentElementOrderChangesWithThePermutation) {
  const Operands o = half_operands(1, 1, 16, 21);
  const std::vector<float> seed_1 = run_tile("wmma_order_dependent", o, 1.0f, 1);
  const std::vector<float> seed_2 = run_tile("wmma_order_dependent", o, 1.0f, 2);
  EXPECT_NE(seed_1, seed_2);
  // While the correct kernel gives the same bits under both.
  EXPECT_EQ(run_tile("wmma_tile_f16", o, 1.0f, 1), run_tile("wmma_tile_f16", o, 1.0f, 2));
}

TEST(SimWmma, ALaneThatSkipsMmaSyncIsReportedLikeADivergentCollective) {
  const Operands o = half_operands(1, 1, 16, 1);
  try {
    run_tile("wmma_divergent", o, 1.0f, 0);
    FAIL() << "expected a LaunchError";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    const std::string what = e.what();
    EXPECT_NE(what.find("nvcuda::wmma::mma_sync"), std::string::npos) << what;
    EXPECT_NE(what.find("nvcuda::wmma::store_matrix_sync"), std::string::npos) << what;
  }
}

TEST(SimWmma, CountsOneMmaPerTileStepAndTheTilesMemoryAsRequests) {
  const Operands o = half_operands(2, 3, 32, 9);
  auto* kernel = load_kernel("wmma_tile_f16", kernel_source("wmma_tile_f16"));
  DeviceBytes a(o.a.data(), o.a.size() * 2), b(o.b.data(), o.b.size() * 2), c(nullptr, std::size_t(32 * 48) * 4);
  detail::LaunchDims dims;
  dims.grid[0] = 2;
  dims.grid[1] = 3;
  dims.block[0] = 32;
  const TileParams params{a.get(), b.get(), static_cast<float*>(c.get()), o.k, 1.0f};
  shared_device().set_counting(true);
  shared_device().launch(kernel, dims, &params, sizeof params);
  shared_device().set_counting(false);
  const detail::KernelCounters counters = shared_device().last_launch_counters();
  const uint64_t tiles = 6, steps = 32 / 16;
  EXPECT_EQ(counters.mma_ops, tiles * steps);
  EXPECT_EQ(counters.flops, tiles * steps * 2 * 16 * 16 * 16);
  // Each operand load is one request over 16 lines of 32 bytes, k * 2 bytes apart (one sector each).
  EXPECT_EQ(counters.global_load_requests, tiles * steps * 2);
  EXPECT_EQ(counters.global_load_sectors, tiles * steps * 2 * 16);
  // The store: 16 rows of 64 bytes (ldc = 48 floats), two requests of 8 rows.
  uint64_t store_sectors = 0;
  for (int bx = 0; bx < 2; ++bx)
    for (int by = 0; by < 3; ++by)
      for (int half = 0; half < 2; ++half) {
        std::set<uint64_t> sectors;
        for (int row = half * 8; row < half * 8 + 8; ++row) {
          const uint64_t begin = uint64_t((bx * 16 + row) * 48 + by * 16) * 4;
          for (uint64_t byte = begin; byte < begin + 64; byte += 32) sectors.insert(byte / 32);
        }
        store_sectors += sectors.size();
      }
  EXPECT_EQ(counters.global_store_requests, tiles * 2);
  EXPECT_EQ(counters.global_store_sectors, store_sectors);
  EXPECT_EQ(counters.shared_requests, 0u);
}

TEST(SimWmma, PermutationSeedComesFromTheEnvironmentAndABadOneIsNamed) {
  setenv("DCNJIT_SIM_WMMA_PERMUTE", "12345", 1);
  EXPECT_EQ(SimOptions{}.wmma_permutation_seed, 12345u);
  setenv("DCNJIT_SIM_WMMA_PERMUTE", "12x", 1);
  try {
    SimOptions options;
    FAIL() << "accepted seed " << options.wmma_permutation_seed;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("DCNJIT_SIM_WMMA_PERMUTE"), std::string::npos) << e.what();
  }
  unsetenv("DCNJIT_SIM_WMMA_PERMUTE");
  EXPECT_EQ(SimOptions{}.wmma_permutation_seed, 0u);
}

// Seed 0 is the plain row-major split; other seeds permute every role, and differently per role.
TEST(SimWmma, LayoutsArePermutationsOfTheTile) {
  const WmmaLayouts plain = WmmaLayouts::for_seed(0), permuted = WmmaLayouts::for_seed(99);
  for (unsigned role = 0; role < dcnjit_sim::wmma_role_count; ++role) {
    const unsigned elements = wmma_tile_elements(dcnjit_sim::WmmaRole(role));
    ASSERT_EQ(plain.maps[role].size(), elements);
    std::vector<uint16_t> sorted = permuted.maps[role];
    std::sort(sorted.begin(), sorted.end());
    for (unsigned i = 0; i < elements; ++i) {
      EXPECT_EQ(plain.maps[role][i], i);
      EXPECT_EQ(sorted[i], i) << "role " << role << " is not a permutation";
    }
    EXPECT_NE(permuted.maps[role], plain.maps[role]);
  }
  EXPECT_NE(permuted.maps[dcnjit_sim::wmma_a16], permuted.maps[dcnjit_sim::wmma_b16]);
}

}  // namespace
}  // namespace dcnjit::sim
