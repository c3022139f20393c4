// The fused algorithm's launch sequence against a recording KernelDevice: which kernels run for each
// gradient subset, their grids, block sizes and dynamic shared memory, the parameters each one reads,
// the workspace segments, and that the kernel list `dcnjit emit` prints is what the passes launch.
// The numerics of the kernels run under the sim backend (tests/runtime/sim).
#include "algorithms/fused/fused_algorithm.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "algorithms/fused/fused_kernels.h"
#include "algorithms/fused/fused_params.cuh"
#include "algorithms/fused/fused_workspace.h"
#include "tests/support/recording_device.h"

namespace dcnjit::algo {
namespace {

using test::RecordingDevice;

void* address(int tensor) { return reinterpret_cast<void*>(uintptr_t(tensor) << 32); }

TensorRef tensor(int id, DType dtype) {
  TensorRef t;
  t.data = address(id);
  t.dtype = dtype;
  return t;
}

// 3 images of 6 x 7 output pixels (126 pixels: not a multiple of any tile), 2 conv groups and 2 offset
// groups over 8 channels (chunk segments of gcd(4, 4) = 4 channels).
Problem problem(DType dtype = DType::f16, Layout layout = Layout::nchw) {
  Problem p = Problem::parse("N3 C8 H6 W7 Co6 k3x3 p1x1 g2 og2 mask bias v2");
  p.dtype = dtype;
  p.layout = layout;
  return p;
}

BackwardArgs backward_args(const Problem& p) {
  BackwardArgs a;
  a.x = tensor(1, p.dtype);
  a.offset = tensor(2, p.dtype);
  a.mask = tensor(3, p.dtype);
  a.weight = tensor(4, p.dtype);
  a.grad_y = tensor(6, p.dtype);
  return a;
}

struct Fixture {
  RecordingDevice device;
  std::unique_ptr<Algorithm> algorithm = make_fused_algorithm(device.device_traits);
  LaunchContext context{device};
  Config config(const Problem& p, const std::string& text) {
    return algorithm->knobs().resolve(p, Config::parse(text));
  }
};

TEST(FusedForward, PermutesTheWeightsThenRunsOneTiledKernelOverAllImages) {
  Fixture f;
  const Problem p = problem();
  ForwardArgs args;
  args.x = tensor(1, p.dtype);
  args.offset = tensor(2, p.dtype);
  args.mask = tensor(3, p.dtype);
  args.weight = tensor(4, p.dtype);
  args.bias = tensor(5, p.dtype);
  args.y = tensor(7, p.dtype);
  f.algorithm->forward(f.context, p, f.config(p, "bm=32 bn=32 bk=16 wm=1 wn=2 stages=2"), args);
  EXPECT_EQ(f.device.sequence, (std::vector<std::string>{"allocate", "launch fused_weights", "launch fused_fwd"}));
  const auto& fwd = f.device.launches[1];
  EXPECT_EQ(fwd.dims.grid[0], 4u);  // ceil(126 / 32) pixel tiles across the 3 images
  EXPECT_EQ(fwd.dims.grid[1], 1u);  // ceil(3 outputs per group / 32)
  EXPECT_EQ(fwd.dims.grid[2], 2u);  // conv groups
  EXPECT_EQ(fwd.dims.block[0], 64u);
  EXPECT_GT(fwd.dims.dynamic_shared_bytes, 0u);
  const auto params = fwd.as<dcn::FusedParams>();
  EXPECT_EQ(params.weight_pitch, 40);  // 4 channels * 9 taps = 36, padded to 8
  EXPECT_EQ(params.weights, reinterpret_cast<const void*>(RecordingDevice::kScratch));
  EXPECT_EQ(params.bias, address(5));
  EXPECT_EQ(params.y, address(7));
  EXPECT_EQ(params.N, 3);
}

TEST(FusedBackward, EveryGradientRunsEveryKernelOnce) {
  Fixture f;
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  args.grad_weight = tensor(14, p.dtype);
  args.grad_bias = tensor(15, p.dtype);
  const Config config = f.config(p, "bm=32 bn=32 bk=16 wm=1 wn=2 split=4");
  f.algorithm->backward(f.context, p, config, args);
  EXPECT_EQ(f.device.sequence,
            (std::vector<std::string>{"allocate", "launch fused_weights", "fill_zero", "launch fused_dgrad",
                                      "launch fused_creduce", "launch cast", "launch fused_wgrad",
                                      "launch fused_wreduce", "launch bias_grad"}));
  const fused::WorkspaceLayout layout =
      fused::WorkspaceLayout::of(p, fused::FusedKnobs::of(f.algorithm->knobs(), config));
  const char* ws = reinterpret_cast<const char*>(RecordingDevice::kScratch);
  // f16: grad_x goes through the f32 accumulator (zeroed first, cast once).
  EXPECT_EQ(f.device.zeroed[0].first, ws + layout.grad_x_accum);
  EXPECT_EQ(f.device.zeroed[0].second, 3u * 8 * 6 * 7 * 4);
  const auto dgrad = f.device.launches_of("dcn_fused_dgrad")[0];
  // Pixel tiles x channel chunks (8 channels / segments of 4, one chunk each) x taps.
  EXPECT_EQ(dgrad->dims.grid[0], 4u);
  EXPECT_EQ(dgrad->dims.grid[1], 2u);
  EXPECT_EQ(dgrad->dims.grid[2], 9u);
  const auto dp = dgrad->as<dcn::FusedParams>();
  EXPECT_EQ(dp.grad_x_accum, ws + layout.grad_x_accum);
  EXPECT_EQ(dp.grad_offset, address(12));
  EXPECT_EQ(dp.coord_partials, ws + layout.coord_partials);
  EXPECT_EQ(dp.chunks_per_offset_group, 1);
  EXPECT_EQ(dp.weight_pitch, 8);  // 3 outputs per group, padded
  const auto wgrad = f.device.launches_of("dcn_fused_wgrad")[0];
  EXPECT_EQ(wgrad->dims.grid[0], 2u);      // ceil(36 (c, t) pairs / 32)
  EXPECT_EQ(wgrad->dims.grid[2], 2u * 4);  // groups x split
  const auto wp = wgrad->as<dcn::FusedParams>();
  EXPECT_EQ(wp.split, 4);
  EXPECT_EQ(wp.split_pixels, 32);  // ceil(126 / 4) = 32, a multiple of bk
  EXPECT_EQ(wp.weight_partials, ws + layout.weight_partials);
  EXPECT_EQ(wp.grad_weight, address(14));
}

TEST(FusedBackward, OnlyTheWeightGradientWithoutASplitWritesGradWeightDirectly) {
  Fixture f;
  const Problem p = problem(DType::f32);
  BackwardArgs args = backward_args(p);
  args.grad_weight = tensor(14, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "split=1"), args);
  EXPECT_EQ(f.device.sequence, (std::vector<std::string>{"launch fused_wgrad"}));
  EXPECT_EQ(f.device.allocations, 0) << "no workspace needed";
}

TEST(FusedBackward, F32GradXIsTheScatterTargetItself) {
  Fixture f;
  const Problem p = problem(DType::f32, Layout::nhwc);
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, ""), args);
  EXPECT_EQ(f.device.sequence,
            (std::vector<std::string>{"allocate", "launch fused_weights", "fill_zero", "launch fused_dgrad"}));
  EXPECT_EQ(f.device.zeroed[0].first, address(11));
  const auto dp = f.device.launches_of("dcn_fused_dgrad")[0]->as<dcn::FusedParams>();
  EXPECT_EQ(dp.grad_x_accum, address(11));
  EXPECT_EQ(dp.grad_offset, nullptr);
  EXPECT_EQ(dp.grad_mask, nullptr);
  // Channels-last strides reach the kernels.
  EXPECT_EQ(dp.x_strides.channel, 1);
  EXPECT_EQ(dp.x_strides.pixel, 8);
}

TEST(FusedKernels, TheListEmitShowsIsWhatThePassesLaunch) {
  for (const char* text : {"split=4", "split=1 order=channel"}) {
    Fixture f;
    const Problem p = problem();
    const Config config = f.config(p, text);
    BackwardArgs args = backward_args(p);
    args.grad_x = tensor(11, p.dtype);
    args.grad_offset = tensor(12, p.dtype);
    args.grad_mask = tensor(13, p.dtype);
    args.grad_weight = tensor(14, p.dtype);
    args.grad_bias = tensor(15, p.dtype);
    f.algorithm->backward(f.context, p, config, args);
    std::vector<std::string> listed, launched;
    for (const gen::KernelSpec& spec : f.algorithm->kernels(p, config, Direction::backward, all_gradients(p)))
      listed.push_back(spec.name());
    for (const auto& l : f.device.launches) launched.push_back(l.name);
    EXPECT_EQ(launched, listed) << text;
    // Every tiled launch carries its spec's shared memory.
    for (const auto& l : f.device.launches) {
      if (l.name.rfind("dcn_fused_dgrad", 0) == 0 || l.name.rfind("dcn_fused_wgrad", 0) == 0) {
        EXPECT_GT(l.dims.dynamic_shared_bytes, 0u) << l.name;
      }
    }
  }
}

// Deterministic mode (atomic=gather): per chunk of `step` images the data gradient stores its dcol tiles
// to the column gradient (no grad_x target, no scatter), the chunk's coordinates are reduced, then grad_x
// comes from the map (zeroed counters, count, scan x3, fill, sort) and the gather. No f32 accumulator
// and no cast: the gather writes f16 grad_x once.
TEST(FusedBackward, DeterministicModeGathersGradXChunkByChunk) {
  RecordingDevice device;
  RunOptions options;
  options.deterministic = true;
  const auto algorithm = make_fused_algorithm(device.device_traits, options);
  LaunchContext context{device};
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  const Config config =
      algorithm->knobs().resolve(p, Config::parse("bm=32 bn=32 bk=16 wm=1 wn=2 split=1 step=2"));
  EXPECT_EQ(*config.find("atomic"), "gather");
  algorithm->backward(context, p, config, args);
  const std::vector<std::string> chunk = {"launch fused_dgrad",    "launch fused_creduce",   "fill_zero",
                                          "launch fused_map_count", "launch fused_map_scan", "launch fused_map_scan",
                                          "launch fused_map_scan",  "launch fused_map_fill", "launch fused_map_sort",
                                          "launch fused_gather"};
  std::vector<std::string> expected = {"allocate", "launch fused_weights"};
  for (int c = 0; c < 2; ++c) expected.insert(expected.end(), chunk.begin(), chunk.end());  // images 0-1, then 2
  EXPECT_EQ(device.sequence, expected);

  const fused::WorkspaceLayout layout =
      fused::WorkspaceLayout::of(p, fused::FusedKnobs::of(algorithm->knobs(), config));
  const char* ws = reinterpret_cast<const char*>(RecordingDevice::kScratch);
  EXPECT_EQ(layout.grad_x_accum, layout.coord_partials) << "no f32 grad_x accumulator";
  const auto dgrads = device.launches_of("dcn_fused_dgrad");
  const auto gathers = device.launches_of("dcn_fused_gather");
  ASSERT_EQ(dgrads.size(), 2u);
  ASSERT_EQ(gathers.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    SCOPED_TRACE(c);
    const int64_t images = c == 0 ? 2 : 1;
    const auto dp = dgrads[std::size_t(c)]->as<dcn::FusedParams>();
    EXPECT_EQ(dgrads[std::size_t(c)]->dims.grid[0], c == 0 ? 3u : 2u);  // ceil(images * 42 / 32) pixel tiles
    EXPECT_EQ(dp.N, images);
    EXPECT_EQ(dp.grad_x_accum, nullptr) << "no scatter";
    EXPECT_EQ(dp.grad_columns, ws + layout.grad_columns);
    // The chunk's first image: 2 images of 8 * 6 * 7 f16 elements in, for the second chunk.
    EXPECT_EQ(dp.x, static_cast<const char*>(address(1)) + (c == 0 ? 0 : 2 * 8 * 42 * 2));
    EXPECT_EQ(dp.grad_offset, static_cast<char*>(address(12)) + (c == 0 ? 0 : 2 * 2 * 2 * 9 * 42 * 2));
    const auto gp = gathers[std::size_t(c)]->as<dcn::FusedParams>();
    EXPECT_EQ(gp.grad_x, static_cast<char*>(address(11)) + (c == 0 ? 0 : 2 * 8 * 42 * 2));
    EXPECT_EQ(gp.grad_columns, ws + layout.grad_columns);
    EXPECT_EQ(gp.map.pixels, images * 2 * 42);  // images * og * H * W
    EXPECT_EQ(gp.map.starts, ws + layout.map.starts);
    EXPECT_EQ(gp.map.keys, ws + layout.map.keys);
    EXPECT_EQ(gp.map.weights, ws + layout.map.weights);
  }
  EXPECT_EQ(device.zeroed[0].first, ws + layout.map.counts);
  EXPECT_EQ(layout.map.entries, 4 * 2 * 2 * 9 * 42);  // every corner of every item of a 2-image chunk
  // The kernel list `dcnjit emit` prints: each kernel once, in launch order.
  std::vector<std::string> listed, launched;
  for (const gen::KernelSpec& spec : algorithm->kernels(p, config, Direction::backward, requested_gradients(p, args)))
    listed.push_back(spec.name());
  for (const auto& l : device.launches)
    if (std::find(launched.begin(), launched.end(), l.name) == launched.end()) launched.push_back(l.name);
  EXPECT_EQ(launched, listed);
}

TEST(FusedAlgorithm, SaysWhatItCannotRun) {
  RecordingDevice device;
  const auto algorithm = make_fused_algorithm(device.device_traits);
  Problem p = problem();
  EXPECT_EQ(algorithm->cannot_implement(p), "");
  p.dtype = DType::f64;
  EXPECT_NE(algorithm->cannot_implement(p).find("f64"), std::string::npos);
  // Deterministic mode runs (atomic=gather).
  RunOptions deterministic;
  deterministic.deterministic = true;
  EXPECT_EQ(make_fused_algorithm(device.device_traits, deterministic)->cannot_implement(problem()), "");
}

}  // namespace
}  // namespace dcnjit::algo
