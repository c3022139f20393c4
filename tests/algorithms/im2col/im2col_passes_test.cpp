// The im2col algorithm's launch sequence against a recording KernelDevice: which kernels and GEMMs run
// for each gradient subset, chunking of any N, GEMM shapes and strides per layout, grid capping,
// workspace use and the reported phases. The numerics of the kernels themselves are tested by running
// them (tests/runtime/sim).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "algorithms/im2col/im2col_algorithm.h"
#include "algorithms/im2col/im2col_workspace.h"
#include "algorithms/im2col/sampling_params.cuh"
#include "dcnjit/error.h"
#include "templates/shared_params.cuh"
#include "tests/support/recording_device.h"

namespace dcnjit::algo {
namespace {

using test::RecordingDevice;

class PhaseRecorder : public detail::PhaseSink {
 public:
  void record(const detail::PhaseStats& stats) override { names.push_back(stats.name); }
  std::vector<std::string> names;
};

// Fake device addresses: distinct, far apart, never dereferenced.
void* address(int tensor) { return reinterpret_cast<void*>(uintptr_t(tensor) << 32); }
const char* at(int tensor, int64_t bytes) { return static_cast<const char*>(address(tensor)) + bytes; }

TensorRef tensor(int id, DType dtype) {
  TensorRef t;
  t.data = address(id);
  t.dtype = dtype;
  return t;
}

ForwardArgs forward_args(const Problem& p) {
  ForwardArgs a;
  a.x = tensor(1, p.dtype);
  a.offset = tensor(2, p.dtype);
  if (p.mask) a.mask = tensor(3, p.dtype);
  a.weight = tensor(4, p.dtype);
  if (p.bias) a.bias = tensor(5, p.dtype);
  a.y = tensor(6, p.dtype);
  return a;
}

BackwardArgs backward_args(const Problem& p) {
  BackwardArgs a;
  a.x = tensor(1, p.dtype);
  a.offset = tensor(2, p.dtype);
  if (p.mask) a.mask = tensor(3, p.dtype);
  a.weight = tensor(4, p.dtype);
  a.grad_y = tensor(6, p.dtype);
  return a;
}

// 5 images, 2 groups, 2 offset groups, 3x3, 6x7 output.
Problem problem(DType dtype = DType::f32, Layout layout = Layout::nchw) {
  Problem p = Problem::parse("N5 C8 H6 W7 Co4 k3x3 p1x1 g2 og2 mask bias v2");
  p.dtype = dtype;
  p.layout = layout;
  return p;
}

struct Fixture {
  explicit Fixture(RunOptions options = {}) : algorithm(make_im2col_algorithm(device.device_traits, options)),
                                              context(device, options) {}
  RecordingDevice device;
  std::unique_ptr<Algorithm> algorithm;
  LaunchContext context;

  Config config(const Problem& p, const std::string& text) {
    return algorithm->knobs().resolve(p, Config::parse(text));
  }
};

TEST(Im2colForward, ChunksAnyNAndRunsOneGemmPerGroup) {
  Fixture f;
  const Problem p = problem();
  f.algorithm->forward(f.context, p, f.config(p, "step=2"), forward_args(p));
  // Per chunk: im2col, then one GEMM per group.
  std::vector<std::string> expected = {"allocate"};
  for (int i = 0; i < 3; ++i) expected.insert(expected.end(), {"launch im2col", "gemm", "gemm"});
  EXPECT_EQ(f.device.sequence, expected);
  ASSERT_EQ(f.device.launches.size(), 3u);
  const auto first = f.device.launches[0].as<dcn::SamplingParams>();
  const auto last = f.device.launches[2].as<dcn::SamplingParams>();
  EXPECT_EQ(first.images, 2);
  EXPECT_EQ(last.images, 1);  // the remainder chunk
  // The third chunk starts at image 4: x advanced by 4 * C*H*W floats; NCHW strides.
  EXPECT_EQ(last.x, at(1, 4 * 8 * 6 * 7 * 4));
  EXPECT_EQ(last.x_strides.channel, 6 * 7);
  EXPECT_EQ(last.x_strides.pixel, 1);
  EXPECT_EQ(last.offset_strides.channel, 6 * 7);
  // Work items = images * og * taps * Ho*Wo = 2 * 2 * 9 * 42 = 1512 -> 6 blocks of 256.
  EXPECT_EQ(f.device.launches[0].dims.grid[0], 6u);
  EXPECT_EQ(f.device.launches[0].dims.block[0], 256u);

  // Group 1 of chunk 0: y_b[g] = W[g] columns_b[g] + bias[g]; 2 of 4 output channels per group,
  // C/groups * 9 = 36 rows of the 72-row columns.
  const detail::GemmDesc& g1 = f.device.gemms[1];
  EXPECT_EQ(g1.m, 2);
  EXPECT_EQ(g1.n, 42);
  EXPECT_EQ(g1.k, 36);
  EXPECT_EQ(g1.batch, 2);
  EXPECT_EQ(g1.a, at(4, 2 * 36 * 4));
  EXPECT_EQ(g1.stride_a, 0);
  const char* scratch = reinterpret_cast<const char*>(RecordingDevice::kScratch);
  EXPECT_EQ(g1.b, scratch + im2col::WorkspaceLayout::of(p, 2).columns + 36 * 48 * 4);  // group 1's rows
  EXPECT_EQ(g1.ldb, 48);  // P = 42 rounded up to the 8-element column pitch (im2col_workspace.h)
  EXPECT_EQ(g1.stride_b, 72 * 48);
  EXPECT_EQ(g1.c, at(6, 2 * 42 * 4));
  EXPECT_EQ(g1.stride_c, 4 * 42);
  EXPECT_EQ(g1.bias, at(5, 2 * 4));
  EXPECT_FALSE(g1.bias_per_column);
  // No workspace passed: the context allocated its own, once.
  EXPECT_EQ(f.device.allocations, 1);
}

TEST(Im2colForward, NhwcRunsOneGemmPerGroupOverTheWholeChunk) {
  Fixture f;
  const Problem p = problem(DType::f32, Layout::nhwc);
  f.algorithm->forward(f.context, p, f.config(p, "step=2"), forward_args(p));
  const auto first = f.device.launches[0].as<dcn::SamplingParams>();
  // Channels-last strides: a channel step of 1, a pixel step of C (x) or 2*og*taps (offset).
  EXPECT_EQ(first.x_strides.channel, 1);
  EXPECT_EQ(first.x_strides.pixel, 8);
  EXPECT_EQ(first.offset_strides.channel, 1);
  EXPECT_EQ(first.offset_strides.pixel, 36);
  EXPECT_EQ(first.mask_strides.pixel, 18);
  // y[:, g] (images*P x Cog) = columns[:, g] (images*P x Cg*K) * W[g]^T, bias along the output channels.
  const detail::GemmDesc& g1 = f.device.gemms[1];
  EXPECT_EQ(g1.m, 2 * 42);
  EXPECT_EQ(g1.n, 2);
  EXPECT_EQ(g1.k, 36);
  EXPECT_EQ(g1.batch, 1);
  EXPECT_TRUE(g1.trans_b);
  EXPECT_EQ(g1.a, reinterpret_cast<const char*>(RecordingDevice::kScratch) + 36 * 4);
  EXPECT_EQ(g1.lda, 72);
  EXPECT_EQ(g1.b, at(4, 2 * 36 * 4));
  EXPECT_EQ(g1.ldb, 36);
  EXPECT_EQ(g1.c, at(6, 2 * 4));
  EXPECT_EQ(g1.ldc, 4);
  EXPECT_EQ(g1.bias, at(5, 2 * 4));
  EXPECT_TRUE(g1.bias_per_column);
}

TEST(Im2colForward, UsesTheCallersWorkspaceWhenLargeEnough) {
  Fixture f;
  const Problem p = problem();
  const Config config = f.config(p, "step=2");
  ForwardArgs args = forward_args(p);
  args.workspace = address(9);
  args.workspace_bytes = f.algorithm->workspace_size(p, config);
  f.algorithm->forward(f.context, p, config, args);
  EXPECT_EQ(f.device.allocations, 0);
  EXPECT_EQ(f.device.gemms[0].b, address(9));  // the columns are at the start of the workspace
}

TEST(Im2colForward, GridIsCappedAtTheDeviceLimit) {
  Fixture f;
  f.device.device_traits.max_grid_x = 4;
  const Problem p = problem();
  f.algorithm->forward(f.context, p, f.config(p, "step=5"), forward_args(p));
  EXPECT_EQ(f.device.launches[0].dims.grid[0], 4u);  // 5 * 2 * 9 * 42 / 256 = 15 blocks wanted
}

TEST(Im2colForward, ItemsPerThreadShrinkTheGrid) {
  Fixture f;
  const Problem p = problem();
  f.algorithm->forward(f.context, p, f.config(p, "step=5 threads=128 items=4"), forward_args(p));
  EXPECT_EQ(f.device.launches[0].dims.grid[0], 8u);  // 3780 items / (128 * 4) = 7.4 -> 8 blocks
  EXPECT_EQ(f.device.launches[0].dims.block[0], 128u);
  EXPECT_NE(f.device.launches[0].name.find("_t128_it4"), std::string::npos) << f.device.launches[0].name;
}

TEST(Im2colBackward, OnlyBiasRunsOnlyTheBiasKernel) {
  Fixture f;
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_bias = tensor(10, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=2"), args);
  EXPECT_EQ(f.device.sequence, std::vector<std::string>{"launch bias_grad"});
  EXPECT_EQ(f.device.launches[0].dims.grid[0], 4u);  // one block per output channel
  EXPECT_EQ(f.device.launches[0].as<dcn::BiasGradParams>().N, 5);
  EXPECT_EQ(f.device.allocations, 0);  // no scratch needed
}

TEST(Im2colBackward, FusedWhenGradXAndOffsetAreBothWanted) {
  Fixture f;
  PhaseRecorder phases;
  f.context.set_phase_sink(&phases);
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=5"), args);
  EXPECT_EQ(f.device.sequence,
            (std::vector<std::string>{"allocate", "gemm", "gemm", "fill_zero", "launch col2im_coord"}));
  EXPECT_EQ(phases.names, (std::vector<std::string>{"gemm_dcol", "col2im_coord"}));
  EXPECT_GT(f.device.syncs, 0);  // phases are device-synchronized
  // f32: grad_x itself is zeroed and scattered into.
  ASSERT_EQ(f.device.zeroed.size(), 1u);
  EXPECT_EQ(f.device.zeroed[0].first, address(11));
  EXPECT_EQ(f.device.zeroed[0].second, 5u * 8 * 6 * 7 * 4);
  const auto k = f.device.launches[0].as<dcn::SamplingParams>();
  EXPECT_EQ(k.grad_x_accum, address(11));
  EXPECT_EQ(k.grad_offset, address(12));
  EXPECT_EQ(k.grad_mask, address(13));
  // dcol GEMM: W[g]^T dY.
  EXPECT_TRUE(f.device.gemms[0].trans_a);
  EXPECT_EQ(f.device.gemms[0].m, 36);
  EXPECT_EQ(f.device.gemms[0].k, 2);
}

TEST(Im2colBackward, SplitConfigRunsCol2imThenCoord) {
  Fixture f;
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=5 bwd=split"), args);
  EXPECT_EQ(f.device.sequence, (std::vector<std::string>{"allocate", "gemm", "gemm", "fill_zero", "launch col2im",
                                                         "launch coord"}));
  const auto col2im = f.device.launches[0].as<dcn::SamplingParams>();
  const auto coord = f.device.launches[1].as<dcn::SamplingParams>();
  EXPECT_EQ(col2im.grad_offset, nullptr);  // col2im writes no coordinates
  EXPECT_EQ(coord.grad_x_accum, nullptr);  // coord scatters nothing
  EXPECT_EQ(coord.grad_offset, nullptr);   // not requested
  EXPECT_EQ(coord.grad_mask, address(13));
}

TEST(Im2colBackward, WeightF32AccumulatesPerImageGemmsFromBetaZero) {
  Fixture f;
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_weight = tensor(14, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=2"), args);
  // 3 chunks: im2col, then images x groups GEMMs (2x2, 2x2, 1x2).
  ASSERT_EQ(f.device.gemms.size(), 10u);
  EXPECT_EQ(f.device.gemms[0].beta, 0.0f);  // first image of the first chunk overwrites
  EXPECT_EQ(f.device.gemms[1].beta, 0.0f);  // (group 1's first write too)
  for (std::size_t i = 2; i < f.device.gemms.size(); ++i) EXPECT_EQ(f.device.gemms[i].beta, 1.0f) << i;
  EXPECT_TRUE(f.device.gemms[0].trans_b);
  EXPECT_EQ(f.device.gemms[0].k, 42);
  EXPECT_EQ(f.device.gemms[0].ldb, 48);  // the column pitch
  EXPECT_EQ(f.device.gemms[0].role, "gemm_wgrad");
  EXPECT_FALSE(f.device.gemms[0].c_dtype.has_value()) << "f32 accumulates in grad_weight itself";
}

TEST(Im2colBackward, WeightNhwcIsOneGemmPerGroupAndChunk) {
  Fixture f;
  const Problem p = problem(DType::f32, Layout::nhwc);
  BackwardArgs args = backward_args(p);
  args.grad_weight = tensor(14, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=2"), args);
  ASSERT_EQ(f.device.gemms.size(), 6u);  // 3 chunks x 2 groups
  const detail::GemmDesc& g = f.device.gemms[0];
  EXPECT_TRUE(g.trans_a);
  EXPECT_EQ(g.m, 2);
  EXPECT_EQ(g.n, 36);
  EXPECT_EQ(g.k, 2 * 42);  // the chunk's pixels of both images
  EXPECT_EQ(g.lda, 4);
  EXPECT_EQ(g.ldb, 72);
  EXPECT_EQ(f.device.gemms[0].beta, 0.0f);
  for (std::size_t i = 2; i < f.device.gemms.size(); ++i) EXPECT_EQ(f.device.gemms[i].beta, 1.0f) << i;
}

TEST(Im2colBackward, WeightAndGradXF16GoThroughF32Accumulators) {
  Fixture f;
  const Problem p = problem(DType::f16);
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_weight = tensor(14, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=3"), args);
  // Per chunk: dcol GEMMs, col2im into the f32 grad_x accumulator, its cast, the column recompute, then
  // one grad_weight GEMM per image and group (3 then 2 images, 2 groups).
  std::vector<std::string> expected = {"allocate"};
  for (int images : {3, 2}) {
    expected.insert(expected.end(), {"gemm", "gemm", "fill_zero", "launch col2im", "launch cast", "launch im2col"});
    for (int i = 0; i < images * 2; ++i) expected.push_back("gemm");
  }
  expected.push_back("launch cast");  // grad_weight accumulator -> f16, once
  EXPECT_EQ(f.device.sequence, expected);
  const im2col::WorkspaceLayout layout = im2col::WorkspaceLayout::of(p, 3);
  const char* ws = reinterpret_cast<const char*>(RecordingDevice::kScratch);
  // The grad_weight GEMMs write the f32 accumulator: the first overwrites (per group), the rest add, so
  // the sum over all images is rounded to f16 once.
  std::vector<const detail::GemmDesc*> weight_gemms;
  for (const detail::GemmDesc& g : f.device.gemms)
    if (g.role == "gemm_wgrad") weight_gemms.push_back(&g);
  ASSERT_EQ(weight_gemms.size(), 10u);
  for (std::size_t i = 0; i < weight_gemms.size(); ++i) {
    const detail::GemmDesc& g = *weight_gemms[i];
    EXPECT_EQ(g.dtype, DType::f16) << i;
    ASSERT_TRUE(g.c_dtype.has_value()) << i;
    EXPECT_EQ(*g.c_dtype, DType::f32) << i;
    EXPECT_EQ(g.beta, i < 2 ? 0.0f : 1.0f) << i;
    EXPECT_EQ(g.c, ws + layout.weight_accum + (i % 2) * 2 * 36 * sizeof(float)) << i;
  }
  EXPECT_EQ(f.device.launches[0].as<dcn::SamplingParams>().grad_x_accum, ws + layout.grad_x_accum);
  EXPECT_EQ(f.device.launches.back().as<dcn::ElementwiseParams>().src, ws + layout.weight_accum);
  EXPECT_EQ(f.device.launches.back().as<dcn::ElementwiseParams>().dst, address(14));
  EXPECT_EQ(f.device.launches.back().as<dcn::ElementwiseParams>().count, 4 * 4 * 9);
}

// Every tensor and one image's columns fit (Problem::validate), but the columns of 2^24 images do not:
// an error naming the region, not a wrapped size that allocates too little.
TEST(Im2colWorkspace, ChunkWhoseSizeDoesNotFitIsAnError) {
  const Problem p = Problem::parse("N16777216 C4096 H4096 W4096 Co1 k3 p1");
  p.validate();
  try {
    im2col::WorkspaceLayout::of(p, 1 << 24);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("workspace: columns"), std::string::npos) << e.what();
  }
}

TEST(Im2colWorkspace, SizeCoversEverySegment) {
  Fixture f;
  const Problem p = problem(DType::bf16);
  const im2col::WorkspaceLayout layout = im2col::WorkspaceLayout::of(p, 2);
  // columns: 2 images * 72 rows * 48 (42 pixels, pitched) * 2 bytes = 13824, a multiple of 256.
  EXPECT_EQ(layout.grad_columns, 13824u);
  EXPECT_EQ(layout.forward_bytes, 13824u);
  EXPECT_GT(layout.total_bytes, layout.weight_accum);
  EXPECT_EQ(f.algorithm->workspace_size(p, f.config(p, "step=2")), layout.total_bytes);
  for (std::size_t offset :
       {layout.columns, layout.grad_columns, layout.grad_x_accum, layout.weight_accum})
    EXPECT_EQ(offset % 256, 0u);
}

RunOptions deterministic() {
  RunOptions options;
  options.deterministic = true;
  return options;
}

TEST(Im2colDeterministic, GathersGradXThroughTheMapWithoutFloatAtomicsOrCasts) {
  Fixture f(deterministic());
  PhaseRecorder phases;
  f.context.set_phase_sink(&phases);
  const Problem p = problem(DType::f16);  // 5 images, og 2, 6x7 input, 6x7 output, 3x3
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  const Config config = f.config(p, "step=3 threads=128 split=2");
  EXPECT_EQ(config.to_string(), "im2col step=3 threads=128 items=1 split=2 bwd=split atomic=gather");
  f.algorithm->backward(f.context, p, config, args);
  // Per chunk: dcol GEMMs, the map (zeroed counters, count, scan x3, fill, sort), the gather, coord. No
  // grad_x accumulator to zero, no cast: the gather writes f16 grad_x once.
  std::vector<std::string> expected = {"allocate"};
  for (int chunk = 0; chunk < 2; ++chunk)
    expected.insert(expected.end(), {"gemm", "gemm", "fill_zero", "launch col2im_count", "launch col2im_scan",
                                     "launch col2im_scan", "launch col2im_scan", "launch col2im_fill",
                                     "launch col2im_sort", "launch col2im_gather", "launch coord"});
  EXPECT_EQ(f.device.sequence, expected);
  EXPECT_EQ(phases.names, (std::vector<std::string>{"gemm_dcol", "col2im_map", "col2im", "coord_grad", "gemm_dcol",
                                                    "col2im_map", "col2im", "coord_grad"}));
  const im2col::WorkspaceLayout layout = im2col::WorkspaceLayout::of(p, 3, 128);
  const char* ws = reinterpret_cast<const char*>(RecordingDevice::kScratch);
  // Map of the first chunk: 3 images * 2 groups * 42 pixels = 252 counters (+1), one tile of 128 * 8.
  EXPECT_EQ(layout.map.pixels, 252);
  EXPECT_EQ(layout.map.tiles, 1);
  EXPECT_EQ(layout.map.entries, 4 * 3 * 2 * 9 * 42);
  EXPECT_EQ(layout.map.count_bytes, 4u);
  ASSERT_EQ(f.device.zeroed.size(), 2u);
  EXPECT_EQ(f.device.zeroed[0].first, ws + layout.map.counts);
  EXPECT_EQ(f.device.zeroed[0].second, layout.map.tile_sums - layout.map.counts);
  EXPECT_GE(f.device.zeroed[0].second, 253u * 4);
  const auto launches = f.device.launches;
  ASSERT_EQ(launches.size(), 16u);
  for (int i : {1, 2, 3}) EXPECT_EQ(launches[i].as<dcn::SamplingParams>().map.scan_phase, i - 1) << i;
  EXPECT_EQ(launches[1].dims.grid[0], 1u);  // tiles
  EXPECT_EQ(launches[2].dims.grid[0], 1u);  // one block scans the tile sums
  EXPECT_EQ(launches[0].dims.block[0], 128u);
  // count and fill: one lane per work item (3 * 2 * 9 * 42 = 2268 items, 18 blocks); the gather: `split`
  // lanes per map pixel (252 * 2 = 504 lanes, 4 blocks).
  EXPECT_EQ(launches[0].dims.grid[0], 18u);
  EXPECT_EQ(launches[4].dims.grid[0], 18u);
  EXPECT_EQ(launches[5].dims.grid[0], 2u);  // sort: a pixel per thread
  EXPECT_EQ(launches[6].dims.grid[0], 4u);
  for (int i = 0; i < 7; ++i) {
    const auto k = launches[i].as<dcn::SamplingParams>();
    EXPECT_EQ(k.map.counts, ws + layout.map.counts) << i;
    EXPECT_EQ(k.map.starts, ws + layout.map.starts) << i;
    EXPECT_EQ(k.map.keys, ws + layout.map.keys) << i;
    EXPECT_EQ(k.map.weights, ws + layout.map.weights) << i;
    EXPECT_EQ(k.grad_x_accum, nullptr) << i;
  }
  const auto gather = launches[6].as<dcn::SamplingParams>();
  EXPECT_EQ(gather.grad_x, address(11));
  EXPECT_EQ(gather.grad_columns, ws + layout.grad_columns);
  // The second chunk (images 3, 4): grad_x advanced by 3 images of f16 x.
  EXPECT_EQ(launches[13].as<dcn::SamplingParams>().grad_x, at(11, 3 * 8 * 6 * 7 * 2));
  EXPECT_EQ(launches[13].as<dcn::SamplingParams>().images, 2);
  // coord writes the coordinates, scatters nothing.
  const auto coord = launches[7].as<dcn::SamplingParams>();
  EXPECT_EQ(coord.grad_x_accum, nullptr);
  EXPECT_EQ(coord.grad_offset, address(12));
  EXPECT_NE(launches[7].name.find("_sp2"), std::string::npos) << launches[7].name;
  // The workspace holds the map and no grad_x accumulator; the scatter's layout has the accumulator.
  EXPECT_EQ(f.algorithm->workspace_size(p, config), layout.total_bytes);
  EXPECT_EQ(layout.weight_accum, layout.grad_x_accum) << "no grad_x accumulator with gather";
  EXPECT_GT(im2col::WorkspaceLayout::of(p, 3).weight_accum, im2col::WorkspaceLayout::of(p, 3).grad_x_accum);
}

TEST(Im2colDeterministic, ScanTilesFollowTheBlockSize) {
  // 8 images * 2 groups * 100x100 pixels = 160,000 map pixels: 79 tiles of 256 * 8, 40 of 512 * 8.
  const Problem p = Problem::parse("N8 C8 H100 W100 Co4 k3x3 p1x1 og2 mask v2");
  EXPECT_EQ(im2col::WorkspaceLayout::of(p, 8, 256).map.tiles, 79);
  EXPECT_EQ(im2col::WorkspaceLayout::of(p, 8, 512).map.tiles, 40);
  EXPECT_EQ(im2col::WorkspaceLayout::of(p, 8).map.tiles, 0) << "no map without gather";
  EXPECT_EQ(im2col::WorkspaceLayout::of(p, 8).total_bytes + 0, im2col::WorkspaceLayout::of(p, 8, 0).total_bytes);
}

TEST(Im2colDeterministic, OnlyTheCoordinatesOrOnlyTheWeightNeedNoMap) {
  Fixture f(deterministic());
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_weight = tensor(14, p.dtype);
  f.algorithm->backward(f.context, p, f.config(p, "step=5"), args);
  for (const std::string& entry : f.device.sequence) EXPECT_EQ(entry.find("col2im"), std::string::npos) << entry;
  EXPECT_NE(std::find(f.device.sequence.begin(), f.device.sequence.end(), "launch coord"), f.device.sequence.end());
}

TEST(Im2colKernels, TheListEmitShowsIsWhatTheBackwardLaunches) {
  const Problem p = problem(DType::f16);
  for (const char* text : {"step=5 bwd=split atomic=warp", "step=2 bwd=split atomic=gather split=2"}) {
    Fixture f;
    const Config config = f.config(p, text);
    BackwardArgs args = backward_args(p);
    args.grad_x = tensor(11, p.dtype);
    args.grad_offset = tensor(12, p.dtype);
    args.grad_mask = tensor(13, p.dtype);
    args.grad_weight = tensor(14, p.dtype);
    args.grad_bias = tensor(15, p.dtype);
    f.algorithm->backward(f.context, p, config, args);
    std::vector<std::string> listed;
    for (const gen::KernelSpec& spec : f.algorithm->kernels(p, config, Direction::backward, all_gradients(p)))
      listed.push_back(spec.name());
    std::vector<std::string> launched;
    for (const auto& l : f.device.launches)
      if (std::find(launched.begin(), launched.end(), l.name) == launched.end()) launched.push_back(l.name);
    // In the order of their first launch, each once.
    EXPECT_EQ(launched, listed) << text;
  }
}

}  // namespace
}  // namespace dcnjit::algo
