// The pass orchestration, against a recording KernelDevice: which kernels and GEMMs run for each
// gradient subset, chunking of any N, GEMM shapes and strides, grid capping, workspace use and the
// reported phases. The numerics of the kernels themselves are tested by running them (sim backend).
#include "runtime/pipeline/kernel_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "generator/config_space.h"
#include "runtime/pipeline/workspace_layout.h"
#include "templates/params.cuh"

namespace dcnjit::detail {
namespace {

struct Launch {
  std::string name;
  LaunchDims dims;
  dcn::Params params;
};

class RecordingKernel : public LoadedKernel {
 public:
  RecordingKernel(std::string name, gen::KernelKind kind) : name(std::move(name)), kind(kind) {}
  std::string name;
  gen::KernelKind kind;
};

class RecordingDevice : public KernelDevice {
 public:
  void* allocate(std::size_t bytes) override {
    ++allocations;
    allocated_bytes = bytes;
    return reinterpret_cast<void*>(0x10000000);  // never dereferenced
  }
  void release(void*) override { ++releases; }
  void fill_zero(void* pointer, std::size_t bytes) override { zeroed.push_back({pointer, bytes}); }
  LoadedKernel* load(const gen::KernelSource& kernel) override {
    loaded.push_back(kernel.name);
    kernels.push_back(std::make_unique<RecordingKernel>(kernel.name, kernel.kind));
    return kernels.back().get();
  }
  void launch(LoadedKernel* kernel, const LaunchDims& dims, const void* params, std::size_t bytes) override {
    EXPECT_EQ(bytes, sizeof(dcn::Params));
    const auto* recorded = static_cast<RecordingKernel*>(kernel);
    Launch l{recorded->name, dims, {}};
    std::memcpy(&l.params, params, sizeof(dcn::Params));
    launches.push_back(l);
    sequence.push_back(std::string("launch dcn_") + gen::to_string(recorded->kind));
  }
  void gemm(const GemmDesc& desc) override {
    gemms.push_back(desc);
    sequence.push_back("gemm");
  }
  unsigned max_grid_x() const override { return grid_limit; }
  void synchronize() override { ++syncs; }

  unsigned grid_limit = 2147483647u;
  int allocations = 0, releases = 0, syncs = 0;
  std::size_t allocated_bytes = 0;
  std::vector<std::pair<void*, std::size_t>> zeroed;
  std::vector<std::string> loaded, sequence;
  std::vector<Launch> launches;
  std::vector<GemmDesc> gemms;
  std::vector<std::unique_ptr<RecordingKernel>> kernels;
};

class PhaseRecorder : public PhaseSink {
 public:
  void record(const PhaseStats& stats) override { names.push_back(stats.name); }
  std::vector<std::string> names;
};

// Fake device addresses: distinct, far apart, never dereferenced.
void* address(int tensor) { return reinterpret_cast<void*>(uintptr_t(tensor) << 32); }

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

// 5 images, step 2: chunks of 2, 2, 1 images. 2 groups, 2 offset groups, 3x3, 6x7 output.
Problem problem(DType dtype = DType::f32) {
  return Problem::parse(std::string("N5 C8 H6 W7 Co4 k3x3 p1x1 g2 og2 mask bias v2 ") + to_string(dtype));
}

Config config_with_step(int step) {
  Config c = gen::default_kernel_config(problem());
  c.im2col_step = step;
  return c;
}

TEST(KernelPipelineForward, ChunksAnyNAndRunsOneGemmPerGroup) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  pipeline.forward(p, config_with_step(2), forward_args(p));
  // Per chunk: im2col, then one GEMM per group.
  const std::vector<std::string> chunk = {"launch dcn_im2col", "gemm", "gemm"};
  std::vector<std::string> expected;
  for (int i = 0; i < 3; ++i) expected.insert(expected.end(), chunk.begin(), chunk.end());
  EXPECT_EQ(device.sequence, expected);
  ASSERT_EQ(device.launches.size(), 3u);
  EXPECT_EQ(device.launches[0].params.images, 2);
  EXPECT_EQ(device.launches[2].params.images, 1);  // the remainder chunk
  // The third chunk starts at image 4: x advanced by 4 * C*H*W floats.
  EXPECT_EQ(device.launches[2].params.x, static_cast<const char*>(address(1)) + 4 * 8 * 6 * 7 * 4);
  // Work items = images * og * taps * Ho*Wo = 2 * 2 * 9 * 42 = 1512 -> 6 blocks of 256.
  EXPECT_EQ(device.launches[0].dims.grid[0], 6u);
  EXPECT_EQ(device.launches[0].dims.block[0], 256u);

  // Group 1 of chunk 0: y_b[g] = W[g] columns_b[g] + bias[g]; 2 of 4 output channels per group,
  // C/groups * 9 = 36 rows of the 72-row columns.
  const GemmDesc& g1 = device.gemms[1];
  EXPECT_EQ(g1.m, 2);
  EXPECT_EQ(g1.n, 42);
  EXPECT_EQ(g1.k, 36);
  EXPECT_EQ(g1.batch, 2);
  EXPECT_EQ(g1.a, static_cast<const char*>(address(4)) + 2 * 36 * 4);
  EXPECT_EQ(g1.stride_a, 0);
  EXPECT_EQ(g1.stride_b, 72 * 42);
  EXPECT_EQ(g1.c, static_cast<char*>(address(6)) + 2 * 42 * 4);
  EXPECT_EQ(g1.stride_c, 4 * 42);
  EXPECT_EQ(g1.bias, static_cast<const char*>(address(5)) + 2 * 4);
  // No workspace passed: the pipeline allocated its own, once.
  EXPECT_EQ(device.allocations, 1);
}

TEST(KernelPipelineForward, UsesTheCallersWorkspaceWhenLargeEnough) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  ForwardArgs args = forward_args(p);
  args.workspace = address(9);
  args.workspace_bytes = KernelPipeline::workspace_size(p, config_with_step(2));
  pipeline.forward(p, config_with_step(2), args);
  EXPECT_EQ(device.allocations, 0);
  EXPECT_EQ(device.gemms[0].b, address(9));  // the columns are at the start of the workspace
}

TEST(KernelPipelineForward, GridIsCappedAtTheDeviceLimit) {
  RecordingDevice device;
  device.grid_limit = 4;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  pipeline.forward(p, config_with_step(5), forward_args(p));
  EXPECT_EQ(device.launches[0].dims.grid[0], 4u);  // 5 * 2 * 9 * 42 / 256 = 15 blocks wanted
}

TEST(KernelPipelineBackward, OnlyBiasRunsOnlyTheBiasKernel) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_bias = tensor(10, p.dtype);
  pipeline.backward(p, config_with_step(2), args);
  EXPECT_EQ(device.sequence, std::vector<std::string>{"launch dcn_bias_grad"});
  EXPECT_EQ(device.launches[0].dims.grid[0], 4u);  // one block per output channel
  EXPECT_EQ(device.launches[0].params.N, 5);
  EXPECT_EQ(device.allocations, 0);  // no scratch needed
}

TEST(KernelPipelineBackward, FusedWhenGradXAndOffsetAreBothWanted) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  PhaseRecorder phases;
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_offset = tensor(12, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  pipeline.backward(p, config_with_step(5), args, &phases);
  EXPECT_EQ(device.sequence, (std::vector<std::string>{"gemm", "gemm", "launch dcn_col2im_coord"}));
  EXPECT_EQ(phases.names, (std::vector<std::string>{"gemm_dcol", "col2im_coord"}));
  EXPECT_GT(device.syncs, 0);  // phases are device-synchronized
  // f32: grad_x itself is zeroed and scattered into.
  ASSERT_EQ(device.zeroed.size(), 1u);
  EXPECT_EQ(device.zeroed[0].first, address(11));
  EXPECT_EQ(device.zeroed[0].second, 5u * 8 * 6 * 7 * 4);
  const dcn::Params& k = device.launches[0].params;
  EXPECT_EQ(static_cast<void*>(k.grad_x_accum), address(11));
  EXPECT_EQ(k.grad_offset, address(12));
  EXPECT_EQ(k.grad_mask, address(13));
  // dcol GEMM: W[g]^T dY.
  EXPECT_TRUE(device.gemms[0].trans_a);
  EXPECT_EQ(device.gemms[0].m, 36);
  EXPECT_EQ(device.gemms[0].k, 2);
}

TEST(KernelPipelineBackward, SplitConfigRunsCol2imThenCoord) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  Config c = config_with_step(5);
  c.fused_backward = false;
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_mask = tensor(13, p.dtype);
  pipeline.backward(p, c, args);
  EXPECT_EQ(device.sequence, (std::vector<std::string>{"gemm", "gemm", "launch dcn_col2im", "launch dcn_coord"}));
  EXPECT_EQ(device.launches[0].params.grad_offset, nullptr);  // col2im writes no coordinates
  EXPECT_EQ(device.launches[1].params.grad_x_accum, nullptr);  // coord scatters nothing
  EXPECT_EQ(device.launches[1].params.grad_offset, nullptr);   // not requested
  EXPECT_EQ(device.launches[1].params.grad_mask, address(13));
}

TEST(KernelPipelineBackward, WeightF32AccumulatesPerImageGemmsFromBetaZero) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  BackwardArgs args = backward_args(p);
  args.grad_weight = tensor(14, p.dtype);
  pipeline.backward(p, config_with_step(2), args);
  // 3 chunks: im2col, then images x groups GEMMs (2x2, 2x2, 1x2).
  ASSERT_EQ(device.gemms.size(), 10u);
  EXPECT_EQ(device.gemms[0].beta, 0.0f);  // first image of the first chunk overwrites
  EXPECT_EQ(device.gemms[1].beta, 0.0f);  // (group 1's first write too)
  for (std::size_t i = 2; i < device.gemms.size(); ++i) EXPECT_EQ(device.gemms[i].beta, 1.0f) << i;
  EXPECT_TRUE(device.gemms[0].trans_b);
  EXPECT_EQ(device.gemms[0].k, 42);
}

TEST(KernelPipelineBackward, WeightAndGradXF16GoThroughF32Accumulators) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem(DType::f16);
  Config c = gen::default_kernel_config(p);
  c.im2col_step = 3;
  BackwardArgs args = backward_args(p);
  args.grad_x = tensor(11, p.dtype);
  args.grad_weight = tensor(14, p.dtype);
  pipeline.backward(p, c, args);
  const std::vector<std::string> chunk = {"gemm", "gemm", "launch dcn_col2im", "launch dcn_cast",
                                          "launch dcn_im2col", "gemm", "gemm", "launch dcn_reduce"};
  std::vector<std::string> expected;
  for (int i = 0; i < 2; ++i) expected.insert(expected.end(), chunk.begin(), chunk.end());
  expected.push_back("launch dcn_cast");  // grad_weight accumulator -> f16, once
  EXPECT_EQ(device.sequence, expected);
  const WorkspaceLayout layout = WorkspaceLayout::of(p, 3);
  const char* ws = static_cast<const char*>(reinterpret_cast<void*>(0x10000000));
  // Reduce: first chunk overwrites the accumulator, the second adds.
  std::vector<const Launch*> reduces;
  for (const Launch& l : device.launches)
    if (l.name.starts_with("dcn_reduce")) reduces.push_back(&l);
  ASSERT_EQ(reduces.size(), 2u);
  EXPECT_EQ(reduces[0]->params.accumulate, 0);
  EXPECT_EQ(reduces[1]->params.accumulate, 1);
  EXPECT_EQ(reduces[1]->params.batch, 2);  // the remainder chunk has 2 images
  EXPECT_EQ(reduces[0]->params.dst, ws + layout.weight_accum);
  EXPECT_EQ(static_cast<const void*>(device.launches[0].params.grad_x_accum), ws + layout.grad_x_accum);
  EXPECT_EQ(device.launches.back().params.dst, address(14));
  EXPECT_EQ(device.launches.back().params.count, 4 * 4 * 9);
}

TEST(KernelPipelineWorkspace, SizeCoversEverySegment) {
  const Problem p = problem(DType::bf16);
  const WorkspaceLayout layout = WorkspaceLayout::of(p, 2);
  // columns: 2 images * 72 rows * 42 pixels * 2 bytes = 12096 -> 12288 aligned to 256.
  EXPECT_EQ(layout.grad_columns, 12288u);
  EXPECT_EQ(layout.forward_bytes, 12288u);
  EXPECT_GT(layout.total_bytes, layout.weight_accum);
  EXPECT_EQ(KernelPipeline::workspace_size(p, config_with_step(2)), layout.total_bytes);
  for (std::size_t offset : {layout.columns, layout.grad_columns, layout.grad_x_accum, layout.weight_partials,
                             layout.weight_accum})
    EXPECT_EQ(offset % 256, 0u);
}

// Every tensor and one image's columns fit (Problem::validate), but the columns of 2^24 images do not:
// an error naming the region, not a wrapped size that allocates too little.
TEST(KernelPipelineWorkspace, ChunkWhoseSizeDoesNotFitIsAnError) {
  const Problem p = Problem::parse("N16777216 C4096 H4096 W4096 Co1 k3 p1");
  p.validate();
  try {
    WorkspaceLayout::of(p, 1 << 24);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("workspace: columns"));
  }
}

TEST(KernelPipeline, RejectsAConfigOutsideTheKernelSpace) {
  RecordingDevice device;
  KernelPipeline pipeline(device);
  const Problem p = problem();
  Config c = config_with_step(2);
  c.atomic = AtomicStrategy::block;
  EXPECT_THROW(pipeline.forward(p, c, forward_args(p)), Error);
  EXPECT_TRUE(device.sequence.empty());
}

}  // namespace
}  // namespace dcnjit::detail
