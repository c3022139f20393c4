// The cpu backend's BackendImpl surface: its knob table (validation, defaults), environment, workspace,
// phase reports (names, costs, only what was requested), and independence from the thread count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/backend.h"
#include "runtime/cpu/dcn_cpu.h"
#include "tests/runtime/cpu/test_support.h"

namespace dcnjit::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<detail::BackendImpl> cpu_backend(int threads) {
  EngineOptions options;
  options.threads = threads;
  return detail::make_cpu_backend(options);
}

template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no dcnjit::Error thrown";
  return "";
}

const Problem kProblem = Problem::parse("N5 C8 H9 W10 Co4 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");

// A config resolved the way Engine::plan does it.
Config config_of(const detail::BackendImpl& backend, const Problem& p, const char* text) {
  return backend.resolve(p, Config::parse(text));
}

TEST(CpuBackendConfigTest, ResolveNamesTheKnob) {
  auto backend = cpu_backend(1);
  EXPECT_THAT(error_message([&] { config_of(*backend, kProblem, "step=0"); }), HasSubstr("step=0 is invalid"));
  EXPECT_THAT(error_message([&] { config_of(*backend, kProblem, "step=6"); }), HasSubstr("expected 1 to N=5"));
  EXPECT_THAT(error_message([&] { config_of(*backend, kProblem, "tile=-3"); }), HasSubstr("tile=-3 is invalid"));
  EXPECT_THAT(error_message([&] { config_of(*backend, kProblem, "cols=keep"); }),
              HasSubstr("unknown knob 'cols' for algorithm im2col (its knobs: step, tile, gemm)"));
  EXPECT_THAT(error_message([&] { config_of(*backend, kProblem, "gemm=mkl"); }), HasSubstr("gemm=mkl is invalid"));
  EXPECT_EQ(config_of(*backend, kProblem, "step=2").to_string(), "im2col step=2 tile=0 gemm=onednn");
  Problem f64 = kProblem;
  f64.dtype = DType::f64;
  EXPECT_EQ(config_of(*backend, f64, "step=2").to_string(), "im2col step=2 tile=0 gemm=openblas");
  EXPECT_THAT(error_message([&] { config_of(*backend, f64, "gemm=onednn"); }), HasSubstr("oneDNN has no f64 GEMM"));
}

TEST(CpuBackendConfigTest, ThreadCountOutsideRangeIsRejected) {
  EXPECT_THAT(error_message([] { cpu_backend(-2); }), HasSubstr("threads=-2 must be in [0, 4096]"));
  EXPECT_THAT(error_message([] { cpu_backend(100000); }), HasSubstr("threads=100000"));
}

TEST(DcnCpuCoreTest, InvalidTilingIsRejectedWithTheFieldName) {
  cpu::CpuConfig config;
  config.im2col_step = 0;
  EXPECT_THAT(error_message([&] { cpu::forward_workspace_bytes<cpu::F32>(kProblem, config, 4); }),
              HasSubstr("im2col_step=0"));
  config.im2col_step = 1;
  config.pixel_tile = -1;
  EXPECT_THAT(error_message([&] { cpu::backward_workspace_bytes<cpu::F32>(kProblem, config, 4); }),
              HasSubstr("cpu_pixel_tile=-1"));
}

// Each tensor fits (Problem::validate); a chunk of 2^24 images does not fit in memory, and its sizes must
// come out right or as an error, never wrapped: the forward's channels-last copy of x alone is 2^60
// floats (2^62 bytes, still representable), the backward's x and grad_x copies together are 2^63 bytes.
TEST(DcnCpuCoreTest, WorkspaceThatDoesNotFitIn64BitsIsAnError) {
  const Problem p = Problem::parse("N16777216 C4096 H4096 W4096 Co1 k3 p1");
  p.validate();
  cpu::CpuConfig config;
  config.im2col_step = 1 << 24;
  EXPECT_GE(cpu::forward_workspace_bytes<cpu::F32>(p, config, 4), std::size_t(1) << 62);
  EXPECT_THAT(error_message([&] { cpu::forward_workspace_bytes<cpu::F64>(p, config, 4); }),
              HasSubstr("cpu workspace: channels-last x"));
  EXPECT_THAT(error_message([&] { cpu::backward_workspace_bytes<cpu::F32>(p, config, 4); }),
              HasSubstr("cpu workspace"));
}

TEST(CpuBackendConfigTest, DefaultConfigIsResolvedAndBoundsTheColumnBuffer) {
  auto backend = cpu_backend(1);
  // Small problem: all five images fit in one chunk, and one tile is the whole image.
  const Config small = backend->default_config(kProblem);
  EXPECT_EQ(small.to_string(), "im2col step=5 tile=0 gemm=onednn");
  EXPECT_EQ(backend->resolve(kProblem, small), small);
  // One image of 256 x 9 x 200 x 300 columns is 553 MB in f32: one image per chunk, pixels tiled into
  // work items whose columns fit a core's cache budget (1.5 MiB).
  const Problem big = Problem::parse("N4 C256 H200 W300 Co256 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f32");
  const Config tiled = backend->default_config(big);
  EXPECT_EQ(*tiled.find("step"), "1");
  const int64_t tile = std::stoll(*tiled.find("tile"));
  EXPECT_GT(tile, 0);
  EXPECT_LE(tile * 256 * 9 * 4, int64_t(3) << 19);
  // The workspace of a pass stays within the backward's span budget (16 MB of dcol, columns, grad_y
  // copies, partials and samples, plus the permuted weights) and the chunk's channels-last copies of
  // x and grad_x: bounded by the chunk, never by N.
  const std::size_t image_bytes = std::size_t(256) * 200 * 300 * 4;
  const std::size_t weight_bytes = std::size_t(256) * 256 * 9 * 4;
  EXPECT_LE(backend->workspace_size(big, tiled),
            std::size_t(16 << 20) + 2 * image_bytes + 2 * weight_bytes + (1 << 20));
}

TEST(CpuBackendConfigTest, EnvironmentNamesCpuAndThreads) {
  const std::string env = cpu_backend(3)->environment();
  EXPECT_THAT(env, ::testing::StartsWith("cpu:"));
  EXPECT_THAT(env, ::testing::EndsWith(":threads=3"));
  EXPECT_EQ(cpu_backend(1)->kind(), Backend::cpu);
}

// Work items are cut by the problem and the config, never by the thread count, and each writes its own
// part of every output (the GEMMs included: each runs single-threaded inside an item): the results are
// the same bits for any number of threads, in every path (f32, f64, native bf16, the separate scatter
// that small batches get with more than one thread).
TEST(CpuBackendConfigTest, ResultsAreBitwiseTheSameForAnyThreadCount) {
  // One block on one image (the separate scatter with 2 and 3 threads), three blocks (the fused one),
  // 130 output rows (a short second weight-GEMM item), offset groups, groups, f64 and native bf16.
  for (const char* text : {"N3 C72 H6 W7 Co5 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32",
                           "N1 C100 H6 W7 Co130 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 f32",
                           "N1 C300 H6 W7 Co130 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 f32",
                           "N1 C100 H6 W7 Co130 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 bf16",
                           "N2 C40 H6 W7 Co6 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v1 f64"}) {
    const Problem p = Problem::parse(text);
    SCOPED_TRACE(text);
    const ReferenceInputs in = rounded_to(random_inputs(p, 41, OffsetStyle::anywhere), p.dtype);
    const std::vector<double> grad_y = rounded_to(random_values(output_size(p), 42, -1, 1), p.dtype);
    BackendRunOptions one;
    one.threads = 1;
    one.config = Config::parse("tile=8");
    const ReferenceOutputs a = run_cpu_backend(p, in, grad_y, one);
    for (int threads : {2, 3}) {
      BackendRunOptions more = one;
      more.threads = threads;
      const ReferenceOutputs b = run_cpu_backend(p, in, grad_y, more);
      EXPECT_EQ(b.y, a.y) << threads;
      EXPECT_EQ(b.grad_x, a.grad_x) << threads;
      EXPECT_EQ(b.grad_offset, a.grad_offset) << threads;
      EXPECT_EQ(b.grad_mask, a.grad_mask) << threads;
      EXPECT_EQ(b.grad_weight, a.grad_weight) << threads;
      EXPECT_EQ(b.grad_bias, a.grad_bias) << threads;
    }
  }
}

TEST(CpuBackendConfigTest, ResultsDoNotDependOnChunkingBeyondRounding) {
  const Problem p = Problem::parse("N3 C72 H6 W7 Co5 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");
  const ReferenceInputs in = random_inputs(p, 41, OffsetStyle::anywhere);
  const std::vector<double> grad_y = random_values(output_size(p), 42, -1, 1);
  BackendRunOptions one;
  one.threads = 2;
  one.config = Config::parse("step=3");
  BackendRunOptions chunked = one;
  chunked.config = Config::parse("step=2 tile=9");
  BackendRunOptions openblas = one;
  openblas.config = Config::parse("step=3 gemm=openblas");
  const ReferenceOutputs a = run_cpu_backend(p, in, grad_y, one);
  // Other chunks, tiles and GEMM libraries cut the GEMMs' sums differently: float rounding (1e-6
  // relative), not identical bits.
  for (const BackendRunOptions& other : {chunked, openblas}) {
    const ReferenceOutputs b = run_cpu_backend(p, in, grad_y, other);
    EXPECT_LE(relative_l2(b.y, a.y), 1e-6);
    EXPECT_LE(relative_l2(b.grad_x, a.grad_x), 1e-6);
    EXPECT_LE(relative_l2(b.grad_offset, a.grad_offset), 1e-6);
    EXPECT_LE(relative_l2(b.grad_mask, a.grad_mask), 1e-6);
    EXPECT_LE(relative_l2(b.grad_weight, a.grad_weight), 1e-6);
    EXPECT_LE(relative_l2(b.grad_bias, a.grad_bias), 1e-6);
  }
}

class RecordingSink : public detail::PhaseSink {
 public:
  void record(const detail::PhaseStats& stats) override { phases.push_back(stats); }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& s : phases) n.push_back(s.name);
    return n;
  }
  std::vector<detail::PhaseStats> phases;
};

// Runs one pass with a sink attached and returns what it reported.
struct PhaseRun {
  explicit PhaseRun(const Problem& p) : p(p), in(random_inputs(p, 51, OffsetStyle::anywhere)) {
    to_float(in.x, x);
    to_float(in.offset, offset);
    to_float(in.mask, mask);
    to_float(in.weight, weight);
    to_float(in.bias, bias);
    y.resize(output_size(p));
    grad_y.assign(output_size(p), 0.5f);
  }
  static void to_float(const std::vector<double>& d, std::vector<float>& f) { f.assign(d.begin(), d.end()); }
  TensorRef t(std::vector<float>& v, std::initializer_list<int64_t> shape) {
    return TensorRef::contiguous(v.data(), DType::f32, Device::cpu, shape);
  }
  ForwardArgs forward_args() {
    ForwardArgs a;
    a.x = t(x, {p.N, p.C, p.H, p.W});
    a.offset = t(offset, {p.N, 2 * p.offset_groups * p.taps(), p.Ho(), p.Wo()});
    a.mask = t(mask, {p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()});
    a.weight = t(weight, {p.Co, p.C / p.groups, p.kh, p.kw});
    a.bias = t(bias, {p.Co});
    a.y = t(y, {p.N, p.Co, p.Ho(), p.Wo()});
    return a;
  }
  BackwardArgs backward_args() {
    const ForwardArgs f = forward_args();
    BackwardArgs b;
    b.x = f.x;
    b.offset = f.offset;
    b.mask = f.mask;
    b.weight = f.weight;
    b.grad_y = t(grad_y, {p.N, p.Co, p.Ho(), p.Wo()});
    return b;
  }
  Problem p;
  ReferenceInputs in;
  std::vector<float> x, offset, mask, weight, bias, y, grad_y;
};

TEST(CpuBackendPhaseTest, ForwardReportsEachPhaseOnceWithCosts) {
  const Problem p = Problem::parse("N3 C8 H9 W10 Co4 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");
  PhaseRun run(p);
  auto backend = cpu_backend(2);
  RecordingSink sink;
  backend->set_phase_sink(&sink);
  const Config config = config_of(*backend, p, "step=2");  // two chunks: still one record per phase
  backend->forward(p, config, run.forward_args());
  EXPECT_THAT(sink.names(), ElementsAre("im2col", "gemm_forward"));
  for (const auto& s : sink.phases) {
    EXPECT_GT(s.bytes, 0) << s.name;
    EXPECT_GT(s.flops, 0) << s.name;
    EXPECT_EQ(s.atomics, 0) << s.name;
    EXPECT_GE(s.ms, 0) << s.name;
  }
  // 2 * N * Co * C * kh * kw * Ho * Wo for the GEMM.
  EXPECT_DOUBLE_EQ(sink.phases[1].flops, 2.0 * 3 * 4 * 8 * 9 * 9 * 10);
}

TEST(CpuBackendPhaseTest, BackwardComputesOnlyWhatIsRequested) {
  const Problem p = Problem::parse("N2 C8 H9 W10 Co4 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");
  PhaseRun run(p);
  auto backend = cpu_backend(2);
  RecordingSink sink;
  backend->set_phase_sink(&sink);
  std::vector<float> grad_weight(run.weight.size(), 7.0f), grad_bias(std::size_t(p.Co), 7.0f);
  std::vector<float> grad_x(run.x.size(), 7.0f), grad_mask(run.mask.size(), 7.0f);

  BackwardArgs weight_only = run.backward_args();
  weight_only.grad_weight = run.t(grad_weight, {p.Co, p.C, p.kh, p.kw});
  backend->backward(p, backend->default_config(p), weight_only);
  EXPECT_THAT(sink.names(), ElementsAre("im2col", "gemm_weight"));

  sink.phases.clear();
  BackwardArgs inputs_only = run.backward_args();
  inputs_only.grad_x = run.t(grad_x, {p.N, p.C, p.H, p.W});
  inputs_only.grad_mask = run.t(grad_mask, {p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  inputs_only.grad_bias = run.t(grad_bias, {p.Co});
  backend->backward(p, backend->default_config(p), inputs_only);
  EXPECT_THAT(sink.names(), ElementsAre("bias_grad", "gemm_dcol", "col2im_coord"));
  for (const auto& s : sink.phases) EXPECT_EQ(s.atomics, 0) << s.name;
  // grad_y is 0.5 everywhere: grad_bias = 0.5 * N * Ho * Wo exactly.
  for (float b : grad_bias) EXPECT_EQ(b, 0.5f * 2 * 9 * 10);
  // The outputs were overwritten, not accumulated into (they started at 7).
  EXPECT_TRUE(std::none_of(grad_x.begin(), grad_x.end(), [](float v) { return v == 7.0f; }));
}

TEST(CpuBackendPhaseTest, AllGradientsFuseTheColumnRecomputeIntoCol2im) {
  const Problem p = Problem::parse("N2 C8 H9 W10 Co4 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");
  PhaseRun run(p);
  auto backend = cpu_backend(1);
  RecordingSink sink;
  backend->set_phase_sink(&sink);
  std::vector<float> gx(run.x.size()), goff(run.offset.size()), gm(run.mask.size()), gw(run.weight.size()),
      gb(std::size_t(p.Co));
  BackwardArgs all = run.backward_args();
  all.grad_x = run.t(gx, {p.N, p.C, p.H, p.W});
  all.grad_offset = run.t(goff, {p.N, 2 * p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  all.grad_mask = run.t(gm, {p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  all.grad_weight = run.t(gw, {p.Co, p.C, p.kh, p.kw});
  all.grad_bias = run.t(gb, {p.Co});
  backend->backward(p, backend->default_config(p), all);
  EXPECT_THAT(sink.names(), ElementsAre("bias_grad", "gemm_dcol", "col2im_coord", "gemm_weight"));
}

// Each gradient computed alone equals the same gradient from a pass that computes all five: the
// template specializations that skip work (no coordinate sums, no scatter, separate im2col instead of
// the fused column recompute) do the same arithmetic on what they keep.
TEST(CpuBackendSubsetTest, EachGradientAloneEqualsItsValueFromTheFullBackward) {
  const Problem p = Problem::parse("N3 C40 H6 W7 Co4 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2 f32");
  PhaseRun run(p);
  auto backend = cpu_backend(2);
  const Config config = config_of(*backend, p, "step=2 tile=20");
  const std::vector<int64_t> x_shape{p.N, p.C, p.H, p.W},
      off_shape{p.N, 2 * p.offset_groups * p.taps(), p.Ho(), p.Wo()},
      mask_shape{p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()}, w_shape{p.Co, p.C / p.groups, p.kh, p.kw};
  auto ref = [](std::vector<float>& v, const std::vector<int64_t>& s) {
    return TensorRef::contiguous(v.data(), DType::f32, Device::cpu, {s[0], s[1], s[2], s[3]});
  };
  std::vector<float> gx(run.x.size()), goff(run.offset.size()), gm(run.mask.size()), gw(run.weight.size());
  BackwardArgs all = run.backward_args();
  all.grad_x = ref(gx, x_shape);
  all.grad_offset = ref(goff, off_shape);
  all.grad_mask = ref(gm, mask_shape);
  all.grad_weight = ref(gw, w_shape);
  backend->backward(p, config, all);

  std::vector<float> alone;
  auto only = [&](std::vector<float> const& full, TensorRef BackwardArgs::*target, const std::vector<int64_t>& shape) {
    alone.assign(full.size(), 0.0f);
    BackwardArgs args = run.backward_args();
    args.*target = ref(alone, shape);
    backend->backward(p, config, args);
    return alone == full;
  };
  EXPECT_TRUE(only(gx, &BackwardArgs::grad_x, x_shape));
  EXPECT_TRUE(only(goff, &BackwardArgs::grad_offset, off_shape));
  EXPECT_TRUE(only(gm, &BackwardArgs::grad_mask, mask_shape));
  EXPECT_TRUE(only(gw, &BackwardArgs::grad_weight, w_shape));
}

TEST(CpuBackendWorkspaceTest, CallerWorkspaceOfAnySizeGivesTheSameResult) {
  const Problem p = Problem::parse("N2 C8 H9 W10 Co4 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32");
  PhaseRun run(p);
  auto backend = cpu_backend(1);
  const Config config = config_of(*backend, p, "step=2");
  ForwardArgs args = run.forward_args();
  backend->forward(p, config, args);
  const std::vector<float> internal = run.y;
  std::vector<float> workspace(backend->workspace_size(p, config) / sizeof(float), -1.0f);
  args.workspace = workspace.data();
  args.workspace_bytes = workspace.size() * sizeof(float);
  std::fill(run.y.begin(), run.y.end(), 0.0f);
  backend->forward(p, config, args);
  EXPECT_EQ(run.y, internal);
  EXPECT_TRUE(std::any_of(workspace.begin(), workspace.end(), [](float v) { return v != -1.0f; }))
      << "a large enough caller workspace is used";
  args.workspace_bytes = 16;  // too small: ignored, the backend uses its own
  std::fill(run.y.begin(), run.y.end(), 0.0f);
  backend->forward(p, config, args);
  EXPECT_EQ(run.y, internal);
}

}  // namespace
}  // namespace dcnjit::testing
