// The GPU counters of dcnjit's own kernels (the im2col algorithm's im2col and col2im_coord) on small
// problems, run through the sim backend with counting on, against values computed here from the
// kernels' access pattern (algorithms/im2col/tap_geometry.cuh): which items each lane of each warp
// handles (pixel fastest, grid-stride, `items` items block_threads / split apart, `split` adjacent lanes
// per item walking its channels interleaved), which addresses an item touches (its offset and mask,
// then per channel its four corners, its column, its atomics; the backward reloads offset and mask for
// its epilogue, in the split's first lane only), and the sectors of each warp request. A lane whose
// split has no channel left in a step (3 channels per group at split 2) issues nothing for it.
//
// The offsets keep every sample strictly inside the image (stride 2 leaves a margin) and N makes the
// work a whole number of blocks, so every lane takes the same path: the grouping rule is then exactly
// the GPU's, and this checks the counting, not the rule under divergence (counters_test.cpp does that).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "core/half.h"
#include "dcnjit/config.h"
#include "dcnjit/engine.h"
#include "runtime/sim/sim_backend.h"
#include "tests/support/counted_phases.h"

namespace dcnjit::sim {
namespace {

using detail::KernelCounters;


// What one warp-level request of the test's model touches: byte offsets into one tensor.
struct Request {
  std::string tensor;
  std::vector<uint64_t> offsets;
  unsigned bytes;
};

// Expected counters from a list of requests per kind.
struct Expected {
  uint64_t load_requests = 0, load_sectors = 0, store_requests = 0, store_sectors = 0;
  uint64_t atomic_requests = 0, atomic_sectors = 0, atomic_conflicts = 0;
  std::set<std::pair<std::string, uint64_t>> unique;

  static uint64_t sectors(const Request& r, std::set<std::pair<std::string, uint64_t>>* unique) {
    std::set<uint64_t> distinct;
    for (uint64_t offset : r.offsets)
      for (uint64_t s = offset / 32; s <= (offset + r.bytes - 1) / 32; ++s) distinct.insert(s);
    for (uint64_t s : distinct) unique->insert({r.tensor, s});
    return distinct.size();
  }
  void load(const Request& r) {
    ++load_requests;
    load_sectors += sectors(r, &unique);
  }
  void store(const Request& r) {
    ++store_requests;
    store_sectors += sectors(r, &unique);
  }
  void atomic(const Request& r) {
    ++atomic_requests;
    atomic_sectors += sectors(r, &unique);
    atomic_conflicts += r.offsets.size() - std::set<uint64_t>(r.offsets.begin(), r.offsets.end()).size();
  }
};

// A work item's geometry, computed as tap_geometry.cuh / sampling.cuh define it.
struct Item {
  int64_t image, group, tap, pixel, offset_y_at, mask_at;
  int64_t corner[4];  // plane indices y*W + x of the four corners
};

// One lane: its item and its rank in the item's split.
struct Lane {
  Item item;
  int64_t rank;
};

// Stride 2, no padding: H = W = 2 * Ho + 2 keeps every sample point in [0, H - 1) when the offsets lie
// in [0.05, 0.95), so all four corners of every sample are inside. N * og * taps * Ho * Wo = 2304 items
// = 9 blocks of 128 threads x 2 items (18 at split 2).
constexpr const char* kProblem = "N8 C6 H10 W10 Co4 k3x3 s2x2 p0x0 d1x1 g1 og2 mask nobias v2";
constexpr const char* kConfig = "im2col step=8 threads=128 items=2 bwd=fused atomic=plain";

struct CounterCase {
  DType dtype;
  int split;
};

class SimKernelCounters : public ::testing::TestWithParam<CounterCase> {
 protected:
  void SetUp() override {
    problem_ = Problem::parse(std::string(kProblem) + " " + to_string(GetParam().dtype));
    EngineOptions options;
    options.backend = Backend::sim;
    options.threads = 2;
    backend_ = detail::make_sim_backend(options, SimOptions{.threads = 2, .order = ThreadOrder::in_order()});
    split_ = GetParam().split;
    config_ = backend_->resolve(problem_, Config::parse(fmt::format("{} split={}", kConfig, split_)));
    threads_ = 128;
    items_ = 2;
    e_ = dtype_size(problem_.dtype);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> fraction(0.05f, 0.95f), unit(-1.0f, 1.0f);
    const int64_t K = problem_.taps(), P = problem_.Ho() * problem_.Wo(), og = problem_.offset_groups;
    offset_.resize(std::size_t(problem_.N * 2 * og * K * P));
    for (float& v : offset_) v = fraction(rng);
    mask_.resize(std::size_t(problem_.N * og * K * P));
    for (float& v : mask_) v = fraction(rng);
    x_.resize(std::size_t(problem_.N * problem_.C * problem_.H * problem_.W));
    for (float& v : x_) v = unit(rng);
    weight_.resize(std::size_t(problem_.Co * problem_.C * K));
    for (float& v : weight_) v = unit(rng);
    grad_y_.resize(std::size_t(problem_.N * problem_.Co * P));
    for (float& v : grad_y_) v = unit(rng);
  }

  void TearDown() override {
    for (void* p : allocations_) backend_->release(p);
  }

  // Device memory holding `values` in the problem's dtype (or zeros of that many elements).
  TensorRef tensor(const std::vector<float>& values, std::initializer_list<int64_t> shape, bool f32 = false) {
    const std::size_t element = f32 ? 4 : e_;
    void* data = backend_->allocate(values.size() * element);
    allocations_.push_back(data);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (element == 4)
        std::memcpy(static_cast<char*>(data) + 4 * i, &values[i], 4);
      else {
        const uint16_t bits = problem_.dtype == DType::f16 ? float_to_half(values[i]) : float_to_bf16(values[i]);
        std::memcpy(static_cast<char*>(data) + 2 * i, &bits, 2);
      }
    }
    return TensorRef::contiguous(data, f32 ? DType::f32 : problem_.dtype, Device::cpu, shape);
  }

  // The value the kernel reads back from a tensor of the problem's dtype.
  float stored(float value) const {
    if (problem_.dtype == DType::f32) return value;
    return problem_.dtype == DType::f16 ? half_to_float(float_to_half(value)) : bf16_to_float(float_to_bf16(value));
  }

  Item item(int64_t index) const {
    const int64_t K = problem_.taps(), P = problem_.Ho() * problem_.Wo(), og = problem_.offset_groups;
    Item it;
    it.pixel = index % P;
    int64_t rest = index / P;
    it.tap = rest % K;
    rest /= K;
    it.group = rest % og;
    it.image = rest / og;
    const int64_t field = it.image * og + it.group;
    it.offset_y_at = (field * 2 * K + 2 * it.tap) * P + it.pixel;
    it.mask_at = (field * K + it.tap) * P + it.pixel;
    const int64_t ho = it.pixel / problem_.Wo(), wo = it.pixel % problem_.Wo();
    const int64_t i = it.tap / problem_.kw, j = it.tap % problem_.kw;
    const float py = float(ho * problem_.stride_h - problem_.pad_h + i * problem_.dilation_h) +
                     stored(offset_[std::size_t(it.offset_y_at)]);
    const float px = float(wo * problem_.stride_w - problem_.pad_w + j * problem_.dilation_w) +
                     stored(offset_[std::size_t(it.offset_y_at + P)]);
    const int64_t y0 = int64_t(std::floor(py)), x0 = int64_t(std::floor(px));
    EXPECT_TRUE(y0 >= 0 && y0 + 1 < problem_.H && x0 >= 0 && x0 + 1 < problem_.W) << "sample outside at item " << index;
    const int64_t W = problem_.W;
    it.corner[0] = y0 * W + x0;
    it.corner[1] = y0 * W + x0 + 1;
    it.corner[2] = (y0 + 1) * W + x0;
    it.corner[3] = (y0 + 1) * W + x0 + 1;
    return it;
  }

  // Calls warp(lanes) for the 32 lanes of each warp in each grid-stride step and item slot e, as
  // for_each_item_group hands them out: block b, step base, e < items, threads 32w..32w+31, thread t on
  // item base + e * threads / split + t / split, rank t % split in its split.
  template <typename Warp>
  void for_each_warp(Warp warp) const {
    const int64_t total = problem_.N * problem_.offset_groups * problem_.taps() * problem_.Ho() * problem_.Wo();
    const int64_t slots = threads_ / split_, per_block = slots * items_;
    ASSERT_EQ(total % per_block, 0) << "the test assumes whole blocks (every lane valid)";
    const int64_t blocks = total / per_block;
    for (int64_t block = 0; block < blocks; ++block)
      for (int64_t base = block * per_block; base < total; base += blocks * per_block)
        for (int64_t e = 0; e < items_; ++e)
          for (int64_t first = 0; first < threads_; first += 32) {
            std::vector<Lane> lanes;
            for (int64_t t = first; t < first + 32; ++t)
              lanes.push_back({item(base + e * slots + t / split_), t % split_});
            warp(lanes);
          }
  }

  // The lanes of a warp that have channel `step * split + rank` in this step of the channel loop, with it.
  std::vector<std::pair<Item, int64_t>> channel_lanes(const std::vector<Lane>& lanes, int64_t step) const {
    std::vector<std::pair<Item, int64_t>> out;
    const int64_t Cg = problem_.C / problem_.offset_groups;
    for (const Lane& lane : lanes)
      if (step * split_ + lane.rank < Cg) out.push_back({lane.item, step * split_ + lane.rank});
    return out;
  }
  int64_t channel_steps() const { return (problem_.C / problem_.offset_groups + split_ - 1) / split_; }

  int64_t plane(const Item& it, int64_t channel) const {
    return (it.image * problem_.C + it.group * (problem_.C / problem_.offset_groups) + channel) * problem_.H *
           problem_.W;
  }
  int64_t column(const Item& it, int64_t channel) const {
    const int64_t c = it.group * (problem_.C / problem_.offset_groups) + channel;
    return ((it.image * problem_.C + c) * problem_.taps() + it.tap) * problem_.Ho() * problem_.Wo() + it.pixel;
  }

  // Requests every lane of a warp makes for its item's offset and mask (`first_rank_only`: the lanes of
  // rank 0 in their split, as in the backward's epilogue).
  void offset_and_mask_loads(const std::vector<Lane>& lanes, Expected& expected, bool first_rank_only = false) const {
    Request dy{"offset", {}, unsigned(e_)}, dx{"offset", {}, unsigned(e_)}, m{"mask", {}, unsigned(e_)};
    const int64_t P = problem_.Ho() * problem_.Wo();
    for (const Lane& lane : lanes) {
      if (first_rank_only && lane.rank != 0) continue;
      const Item& it = lane.item;
      dy.offsets.push_back(uint64_t(it.offset_y_at) * e_);
      dx.offsets.push_back(uint64_t(it.offset_y_at + P) * e_);
      m.offsets.push_back(uint64_t(it.mask_at) * e_);
    }
    expected.load(dy);
    expected.load(dx);
    expected.load(m);
  }

  void expect_counters(const detail::PhaseStats& phase, const Expected& expected) const {
    EXPECT_EQ(phase.counted_launches, 1u);
    const KernelCounters& c = phase.counters;
    EXPECT_EQ(c.global_load_requests, expected.load_requests);
    EXPECT_EQ(c.global_load_sectors, expected.load_sectors);
    EXPECT_EQ(c.global_store_requests, expected.store_requests);
    EXPECT_EQ(c.global_store_sectors, expected.store_sectors);
    EXPECT_EQ(c.atomic_requests, expected.atomic_requests);
    EXPECT_EQ(c.atomic_sectors, expected.atomic_sectors);
    EXPECT_EQ(c.atomic_conflicts, expected.atomic_conflicts);
    EXPECT_EQ(c.global_unique_sectors, expected.unique.size());
    EXPECT_EQ(c.shared_requests, 0u);
    EXPECT_EQ(c.barriers, 0u);
    EXPECT_EQ(c.mma_ops, 0u);
  }

  std::shared_ptr<detail::BackendImpl> backend_;
  Problem problem_;
  Config config_;
  int64_t threads_ = 0, items_ = 0, split_ = 1;
  std::size_t e_ = 4;
  std::vector<float> x_, offset_, mask_, weight_, grad_y_;
  std::vector<void*> allocations_;
};

TEST_P(SimKernelCounters, Im2colMatchesItsAccessPattern) {
  const Problem& p = problem_;
  const int64_t K = p.taps(), Ho = p.Ho(), Wo = p.Wo(), og = p.offset_groups;
  std::vector<float> y(std::size_t(p.N * p.Co * Ho * Wo));
  ForwardArgs args;
  args.x = tensor(x_, {p.N, p.C, p.H, p.W});
  args.offset = tensor(offset_, {p.N, 2 * og * K, Ho, Wo});
  args.mask = tensor(mask_, {p.N, og * K, Ho, Wo});
  args.weight = tensor(weight_, {p.Co, p.C, p.kh, p.kw});
  args.y = tensor(y, {p.N, p.Co, Ho, Wo});
  const test::PhaseList phases = test::counted_phases(*backend_, [&] { backend_->forward(p, config_, args); });

  Expected expected;
  for_each_warp([&](const std::vector<Lane>& lanes) {
    offset_and_mask_loads(lanes, expected);
    for (int64_t step = 0; step < channel_steps(); ++step) {
      const auto active = channel_lanes(lanes, step);
      for (int k = 0; k < 4; ++k) {
        Request corner{"x", {}, unsigned(e_)};
        for (const auto& [it, c] : active) corner.offsets.push_back(uint64_t(plane(it, c) + it.corner[k]) * e_);
        expected.load(corner);
      }
      Request column_store{"columns", {}, unsigned(e_)};
      for (const auto& [it, c] : active) column_store.offsets.push_back(uint64_t(column(it, c)) * e_);
      expected.store(column_store);
    }
  });
  expect_counters(phases.phase("im2col"), expected);
  // The GEMM is not simulated: its counters are the model's, flagged as such.
  EXPECT_EQ(phases.phase("gemm_forward").counted_launches, 0u);
  EXPECT_EQ(phases.phase("gemm_forward").modeled_gemms, 1u);
}

TEST_P(SimKernelCounters, FusedCol2imCoordMatchesItsAccessPattern) {
  const Problem& p = problem_;
  const int64_t K = p.taps(), Ho = p.Ho(), Wo = p.Wo(), og = p.offset_groups;
  std::vector<float> zeros_x(x_.size()), zeros_offset(offset_.size()), zeros_mask(mask_.size());
  BackwardArgs args;
  args.x = tensor(x_, {p.N, p.C, p.H, p.W});
  args.offset = tensor(offset_, {p.N, 2 * og * K, Ho, Wo});
  args.mask = tensor(mask_, {p.N, og * K, Ho, Wo});
  args.weight = tensor(weight_, {p.Co, p.C, p.kh, p.kw});
  args.grad_y = tensor(grad_y_, {p.N, p.Co, Ho, Wo});
  args.grad_x = tensor(zeros_x, {p.N, p.C, p.H, p.W});
  args.grad_offset = tensor(zeros_offset, {p.N, 2 * og * K, Ho, Wo});
  args.grad_mask = tensor(zeros_mask, {p.N, og * K, Ho, Wo});
  const test::PhaseList phases = test::counted_phases(*backend_, [&] { backend_->backward(p, config_, args); });

  Expected expected;
  const int64_t P = Ho * Wo;
  for_each_warp([&](const std::vector<Lane>& lanes) {
    offset_and_mask_loads(lanes, expected);  // the sample point, before the channel loop
    // Again for the epilogue (tap_geometry.cuh's LoopItem), by the first lane of each split.
    offset_and_mask_loads(lanes, expected, /*first_rank_only=*/true);
    for (int64_t step = 0; step < channel_steps(); ++step) {
      const auto active = channel_lanes(lanes, step);
      Request dcol{"grad_columns", {}, unsigned(e_)};
      for (const auto& [it, c] : active) dcol.offsets.push_back(uint64_t(column(it, c)) * e_);
      expected.load(dcol);
      for (int k = 0; k < 4; ++k) {
        Request corner{"x", {}, unsigned(e_)};
        for (const auto& [it, c] : active) corner.offsets.push_back(uint64_t(plane(it, c) + it.corner[k]) * e_);
        expected.load(corner);
      }
      // grad_x is accumulated in f32 (the caller's tensor for f32, the workspace accumulator otherwise).
      for (int k = 0; k < 4; ++k) {
        Request scatter{"grad_x", {}, 4};
        for (const auto& [it, c] : active) scatter.offsets.push_back(uint64_t(plane(it, c) + it.corner[k]) * 4);
        expected.atomic(scatter);
      }
    }
    Request dy{"grad_offset", {}, unsigned(e_)}, dx{"grad_offset", {}, unsigned(e_)}, m{"grad_mask", {}, unsigned(e_)};
    for (const Lane& lane : lanes) {
      if (lane.rank != 0) continue;
      const Item& it = lane.item;
      dy.offsets.push_back(uint64_t(it.offset_y_at) * e_);
      dx.offsets.push_back(uint64_t(it.offset_y_at + P) * e_);
      m.offsets.push_back(uint64_t(it.mask_at) * e_);
    }
    expected.store(dy);
    expected.store(dx);
    expected.store(m);
  });
  expect_counters(phases.phase("col2im_coord"), expected);
}

TEST_P(SimKernelCounters, CountingDoesNotChangeTheForwardResult) {
  const Problem& p = problem_;
  const int64_t K = p.taps(), Ho = p.Ho(), Wo = p.Wo(), og = p.offset_groups;
  std::vector<float> zeros(std::size_t(p.N * p.Co * Ho * Wo));
  ForwardArgs args;
  args.x = tensor(x_, {p.N, p.C, p.H, p.W});
  args.offset = tensor(offset_, {p.N, 2 * og * K, Ho, Wo});
  args.mask = tensor(mask_, {p.N, og * K, Ho, Wo});
  args.weight = tensor(weight_, {p.Co, p.C, p.kh, p.kw});
  const std::size_t y_bytes = zeros.size() * e_;
  std::vector<std::vector<char>> results;
  for (bool counting : {false, true}) {
    backend_->set_counting(counting);
    args.y = tensor(zeros, {p.N, p.Co, Ho, Wo});
    backend_->forward(p, config_, args);
    const char* y = static_cast<const char*>(args.y.data);
    results.emplace_back(y, y + y_bytes);
  }
  backend_->set_counting(false);
  EXPECT_EQ(results[0], results[1]);
}

INSTANTIATE_TEST_SUITE_P(DTypes, SimKernelCounters,
                         ::testing::Values(CounterCase{DType::f32, 1}, CounterCase{DType::f16, 1},
                                           CounterCase{DType::f32, 2}),
                         [](const ::testing::TestParamInfo<CounterCase>& info) {
                           return std::string(to_string(info.param.dtype)) +
                                  (info.param.split > 1 ? fmt::format("_split{}", info.param.split) : "");
                         });

}  // namespace
}  // namespace dcnjit::sim
