// The fused algorithm's kernels run on the sim backend beyond what the shared comparisons cover
// (sim_backend_test.cpp runs every algorithm's sampled configs against the cpu backend; the golden
// tests run its default config on every fixture):
//   - tiles across the space (the heaviest ones, channel-major order, splits) against the cpu backend;
//   - the WMMA fragment element order: permuting it (as another GPU generation may) changes no bit;
//   - everything but grad_x (an atomic scatter) is bit-identical under different thread orders: the
//     split-K and coordinate sums run in a fixed order;
//   - TF32 only with allow_tf32, then within TF32's error;
//   - NHWC corners read as 16-byte vectors of channels give the bits of element-wise reads (x moved off
//     its 16-byte alignment takes the element path), with fewer load requests.
//   - the weight gradient's split-K partials are stored in the tile's order (whole 128-byte lines per
//     warp) and read so by the reduction, which alone writes in the weights' order.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "runtime/sim/sim_backend.h"
#include "tests/support/counted_phases.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"
#include "tools/io/device_problem.h"

namespace dcnjit::sim {
namespace {

// `workers` sim threads run blocks at once: with more than one, blocks interleave differently from run to
// run, and so do grad_x's atomic additions.
std::shared_ptr<detail::BackendImpl> sim_backend(ThreadOrder order, uint64_t wmma_seed = 0, bool allow_tf32 = false,
                                                 unsigned workers = 2) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = int(workers);
  options.algorithm = "fused";
  options.allow_tf32 = allow_tf32;
  SimOptions sim;
  sim.threads = workers;
  sim.order = order;
  sim.wmma_permutation_seed = wmma_seed;
  return detail::make_sim_backend(options, sim);
}

io::ProblemResults run_on(const std::shared_ptr<detail::BackendImpl>& backend, const io::ProblemArrays& arrays,
                          const std::string& config) {
  return test::run_both_passes(backend, arrays, "fused " + config);
}

io::ProblemResults on_cpu(const io::ProblemArrays& arrays) {
  EngineOptions options;
  options.threads = 2;
  Engine cpu(options);
  return test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
}

io::ProblemArrays arrays_of(int problem_index, DType dtype, Layout layout) {
  const Problem problem = test::problem_of(test::test_problems()[std::size_t(problem_index)], dtype, layout);
  return test::random_arrays(problem, 4321);
}

struct TileCase {
  const char* config;
  DType dtype;
  Layout layout;
};

class FusedTiles : public ::testing::TestWithParam<TileCase> {};

TEST_P(FusedTiles, MatchTheCpuBackendOnTheSharedProblemsUnderTwoOrders) {
  const TileCase& c = GetParam();
  for (const ThreadOrder& order : {ThreadOrder::in_order(), ThreadOrder::random(77)}) {
    const auto backend = sim_backend(order);
    for (int i : {0, 3}) {  // mask and bias; offset groups crossing conv groups
      const io::ProblemArrays arrays = arrays_of(i, c.dtype, c.layout);
      EXPECT_TRUE(test::matches_golden(run_on(backend, arrays, c.config), on_cpu(arrays),
                                       test::tolerance_against_cpu(c.dtype)))
          << arrays.problem.to_string() << " fused " << c.config;
    }
  }
}

// The largest tiles the checks allow (8 accumulator fragments per warp, 48 operand values per thread),
// channel-major order, deep splits, a 4-stage ring and the FFMA path's widest tile.
INSTANTIATE_TEST_SUITE_P(
    Space, FusedTiles,
    ::testing::Values(TileCase{"bm=128 bn=64 bk=32 wm=2 wn=2 stages=4", DType::f16, Layout::nchw},
                      TileCase{"bm=32 bn=128 bk=16 wm=1 wn=4 stages=2 order=channel split=8", DType::bf16,
                               Layout::nhwc},
                      TileCase{"bm=64 bn=32 bk=64 wm=4 wn=1 stages=3 split=16", DType::f16, Layout::nhwc},
                      TileCase{"bm=64 bn=64 bk=16 wm=2 wn=2 order=channel split=4", DType::f32, Layout::nchw},
                      TileCase{"bm=32 bn=32 bk=16 wm=1 wn=1 stages=2", DType::f32, Layout::nhwc}),
    [](const ::testing::TestParamInfo<TileCase>& info) {
      std::string name = std::string(to_string(info.param.dtype)) + "_" + to_string(info.param.layout) + "_" +
                         info.param.config;
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

TEST(FusedDeterminism, PermutedWmmaFragmentsChangeNoBit) {
  for (DType dtype : {DType::f16, DType::bf16}) {
    const io::ProblemArrays arrays = arrays_of(0, dtype, Layout::nchw);
    // One worker: grad_x's atomics then add in the same order in both runs, so it is compared too.
    const io::ProblemResults plain = run_on(sim_backend(ThreadOrder::in_order(), 0, false, 1), arrays, "split=2");
    const io::ProblemResults permuted =
        run_on(sim_backend(ThreadOrder::in_order(), 987654321, false, 1), arrays, "split=2");
    EXPECT_TRUE(test::all_same_bits(plain, permuted, /*except_grad_x=*/false)) << to_string(dtype);
  }
}

TEST(FusedDeterminism, EverythingButTheGradXScatterIsTheSameUnderAnyThreadOrder) {
  for (DType dtype : {DType::f16, DType::f32}) {
    const io::ProblemArrays arrays = arrays_of(1, dtype, Layout::nchw);  // groups, offset groups, stride 2
    const io::ProblemResults a = run_on(sim_backend(ThreadOrder::in_order()), arrays, "split=4");
    const io::ProblemResults b = run_on(sim_backend(ThreadOrder::random(5)), arrays, "split=4");
    EXPECT_TRUE(test::all_same_bits(a, b, /*except_grad_x=*/true)) << to_string(dtype);
    EXPECT_TRUE(test::matches_golden(a, b, test::tolerance_against_cpu(dtype)));
  }
}

// Forward and backward on one sim worker in program order (so even grad_x's atomics add in one order),
// x at `x_shift` bytes past a 16-byte boundary; the forward's global load requests go to `loads`.
io::ProblemResults run_with_x_shifted(const io::ProblemArrays& arrays, std::size_t x_shift, uint64_t& loads) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 1;
  options.algorithm = "fused";
  SimOptions sim;
  sim.threads = 1;
  sim.order = ThreadOrder::in_order();
  const auto backend = detail::make_sim_backend(options, sim);
  io::DeviceProblem device(arrays, /*backward=*/true, [&](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
  ForwardArgs forward = device.forward_args();
  BackwardArgs backward = device.backward_args();
  const std::vector<std::byte> x_bytes = io::encode(arrays.x.data, arrays.problem.dtype);  // memory order
  std::vector<std::byte> host(x_shift + x_bytes.size());
  std::memcpy(host.data() + x_shift, x_bytes.data(), x_bytes.size());
  DeviceBuffer shifted(backend, host.size());
  shifted.upload(host.data(), host.size());
  forward.x.data = static_cast<std::byte*>(shifted.data()) + x_shift;
  backward.x.data = forward.x.data;
  const Plan plan(arrays.problem, backend->resolve(arrays.problem, Config::parse("fused")), backend);
  const test::PhaseList phases = test::counted_phases(*backend, [&] { plan.forward(forward); });
  plan.backward(backward);
  loads = 0;
  for (const detail::PhaseStats& phase : phases.all("fused_forward")) loads += phase.counters.global_load_requests;
  return test::to_nchw(device.download(), arrays.problem);
}

TEST(FusedNhwcVectors, SixteenByteCornerLoadsGiveTheBitsOfElementLoads) {
  for (DType dtype : {DType::f16, DType::bf16, DType::f32}) {
    // C8, one group of each kind: runs of 8 channels (whole vectors of 8 f16 or 2 of 4 f32).
    const io::ProblemArrays arrays = arrays_of(0, dtype, Layout::nhwc);
    uint64_t vector_loads = 0, element_loads = 0;
    const io::ProblemResults vectors = run_with_x_shifted(arrays, 0, vector_loads);
    const io::ProblemResults elements = run_with_x_shifted(arrays, dtype_size(dtype), element_loads);
    EXPECT_TRUE(test::all_same_bits(vectors, elements, /*except_grad_x=*/false)) << to_string(dtype);
    EXPECT_TRUE(test::matches_golden(vectors, on_cpu(arrays), test::tolerance_against_cpu(dtype)))
        << to_string(dtype);
    // Four corners of 8 channels: 4 vector requests (8 for f32) instead of 32 element requests.
    EXPECT_GT(vector_loads, 0u);
    EXPECT_LT(2 * vector_loads, element_loads) << to_string(dtype) << ": the vector path did not run";
  }
}

// The NHWC data gradient's epilogue puts a chunk's channels across a warp's lanes and adds the lanes'
// coordinate sums by a butterfly: 48 channels in one 64-row chunk give lanes with two rows, lanes with
// one, and (with bm=32) a second chunk whose slot the reduction adds; the shared problems have 8 channels.
TEST(FusedNhwcEpilogue, ChannelsAcrossLanesMatchTheCpuBackendUnderTwoOrders) {
  for (DType dtype : {DType::f32, DType::f16}) {
    const Problem problem =
        Problem::parse(std::string("N2 C48 H7 W9 Co8 k3x3 p1x1 mask bias v2 nhwc ") + to_string(dtype));
    const io::ProblemArrays arrays = test::random_arrays(problem, 99);
    const io::ProblemResults expected = on_cpu(arrays);
    for (const ThreadOrder& order : {ThreadOrder::in_order(), ThreadOrder::random(3)})
      for (const char* config : {"bm=64", "bm=32"})
        EXPECT_TRUE(test::matches_golden(run_on(sim_backend(order), arrays, config), expected,
                                         test::tolerance_against_cpu(dtype)))
            << problem.to_string() << " fused " << config;
  }
}

// grad_weight alone, split=2, both reduction orders, f32 (4-byte partials and results), with counting on.
// 64 channels and 64 outputs in tiles of 64 x 64 (128 threads): every warp of the epilogue takes 32
// adjacent k' of one tile row, so each store of the partials, [split][Co][k'] with rows of K = 576 floats
// (a multiple of 32), covers exactly one 128-byte line: 4 sectors, Co * K / 32 requests per split. The
// reduction reads those lines the same way (grid-stride, 32 adjacent elements per warp). Stored in the
// weights' order instead, the tap-major partials were `taps` elements apart: one sector per lane.
TEST(FusedWeightPartials, StoredAndReadInWholeLinesAndMatchTheCpuBackend) {
  const Problem problem = Problem::parse("N1 C64 H6 W7 Co64 k3x3 p1x1 f32");
  const io::ProblemArrays arrays = test::random_arrays(problem, 77);
  const io::ProblemResults expected = on_cpu(arrays);
  const uint64_t split = 2, lines_per_split = uint64_t(problem.Co * problem.C * problem.taps() / 32);
  for (const char* order : {"tap", "channel"}) {
    SCOPED_TRACE(order);
    const auto backend = sim_backend(ThreadOrder::in_order());
    io::DeviceProblem device(arrays, /*backward=*/true,
                             [&](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
    BackwardArgs args = device.backward_args();
    args.grad_x.data = args.grad_offset.data = nullptr;
    const std::string config = std::string("fused bm=64 bn=64 wm=2 wn=2 split=2 order=") + order;
    const Plan plan(problem, backend->resolve(problem, Config::parse(config)), backend);
    // Both launches are recorded as phase "weight_gradient": the split-K kernel, then the reduction.
    const std::vector<detail::PhaseStats> launches =
        test::counted_phases(*backend, [&] { plan.backward(args); }).all("weight_gradient");

    ASSERT_EQ(launches.size(), 2u) << "the split-K kernel and the reduction";
    const detail::KernelCounters& kernel = launches[0].counters;
    const detail::KernelCounters& reduce = launches[1].counters;
    EXPECT_EQ(kernel.global_store_requests, split * lines_per_split);
    EXPECT_EQ(kernel.global_store_sectors, 4 * kernel.global_store_requests);
    EXPECT_EQ(reduce.global_load_requests, split * lines_per_split);
    EXPECT_EQ(reduce.global_load_sectors, 4 * reduce.global_load_requests);
    EXPECT_EQ(reduce.global_store_requests, lines_per_split);

    const io::ProblemResults actual = device.download();
    ASSERT_TRUE(actual.grad_weight && expected.grad_weight);
    EXPECT_LE(test::relative_l2(actual.grad_weight->data, expected.grad_weight->data),
              test::tolerance_against_cpu(DType::f32));
  }
}

TEST(FusedTf32, OnlyWhenAllowedAndWithinItsError) {
  const io::ProblemArrays arrays = arrays_of(0, DType::f32, Layout::nchw);
  const io::ProblemResults expected = on_cpu(arrays);
  const io::ProblemResults exact = run_on(sim_backend(ThreadOrder::in_order()), arrays, "");
  const io::ProblemResults tf32 = run_on(sim_backend(ThreadOrder::in_order(), 0, true), arrays, "");
  EXPECT_TRUE(test::matches_golden(exact, expected, test::tolerance_against_cpu(DType::f32)));
  // As for the im2col algorithm's GEMMs (gemm_precision_test.cpp): 10-bit operands, ~1e-3 per product.
  EXPECT_TRUE(test::matches_golden(tf32, expected, 2e-3));
  EXPECT_FALSE(test::matches_golden(tf32, exact, 1e-6)) << "allow_tf32 changed nothing";
}

}  // namespace
}  // namespace dcnjit::sim
