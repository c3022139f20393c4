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

TEST(FusedAlgorithm, SaysWhatItCannotRun) {
  RecordingDevice device;
  const auto algorithm = make_fused_algorithm(device.device_traits);
  Problem p = problem();
  EXPECT_EQ(algorithm->cannot_implement(p), "");
  p.dtype = DType::f64;
  EXPECT_NE(algorithm->cannot_implement(p).find("f64"), std::string::npos);
}

}  // namespace
}  // namespace dcnjit::algo
