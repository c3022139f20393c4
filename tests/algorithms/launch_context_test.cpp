// The launch context every algorithm runs through (algorithms/launch_context.h), against a recording
// device: kernels load once per name, every launch carries its spec's dynamic shared memory, grids are
// capped for grid-stride kernels, the workspace is the caller's when large enough, and the engine's
// options reach the passes.
#include "algorithms/launch_context.h"

#include <gtest/gtest.h>

#include "dcnjit/error.h"
#include "tests/support/recording_device.h"

namespace dcnjit::algo {
namespace {

using test::RecordingDevice;

struct NoParams {
  int value = 7;
};

// A spec the generator can emit: any template, since the recording device never compiles it.
gen::KernelSpec spec(const std::string& family, int dynamic_shared_bytes) {
  gen::KernelSpec s;
  s.family = family;
  s.summary = "a test kernel";
  s.header = "templates/cast.cuh";
  s.function = "dcn::cast";
  s.spec_template = "dcn::ElementwiseSpec";
  s.arguments = {{"dtype", "dcn::kF32", "f32"}};
  s.params_type = "dcn::ElementwiseParams";
  s.block_threads = 128;
  s.dynamic_shared_bytes = dynamic_shared_bytes;
  return s;
}

TEST(LaunchContext, EveryLaunchCarriesItsSpecsDynamicSharedMemory) {
  RecordingDevice device;
  LaunchContext context(device);
  detail::LaunchDims dims = context.grid_stride(1000, 128);
  dims.dynamic_shared_bytes = 5;  // whatever the caller left there is replaced by the spec's
  context.launch(spec("tiled", 48 * 1024), dims, NoParams{});
  context.launch(spec("plain", 0), dims, NoParams{});
  ASSERT_EQ(device.launches.size(), 2u);
  EXPECT_EQ(device.launches[0].dims.dynamic_shared_bytes, 48u * 1024u);
  EXPECT_EQ(device.launches[1].dims.dynamic_shared_bytes, 0u);
  EXPECT_EQ(device.launches[0].as<NoParams>().value, 7);
}

TEST(LaunchContext, LoadsEachKernelOnce) {
  RecordingDevice device;
  LaunchContext context(device);
  const gen::KernelSpec s = spec("tiled", 0);
  for (int i = 0; i < 3; ++i) context.launch(s, context.grid_stride(10, 128), NoParams{});
  EXPECT_EQ(device.loaded.size(), 1u);
  EXPECT_EQ(device.launches.size(), 3u);
}

TEST(LaunchContext, GridStrideCapsTheGridAtTheDeviceLimit) {
  RecordingDevice device;
  device.device_traits.max_grid_x = 4;
  LaunchContext context(device);
  EXPECT_EQ(context.grid_stride(100, 32).grid[0], 4u);
  EXPECT_EQ(context.grid_stride(64, 32, 2).grid[0], 1u);  // 2 items per thread: one block covers 64
  EXPECT_EQ(context.grid_stride(0, 32).grid[0], 1u);
}

TEST(LaunchContext, UsesTheCallersWorkspaceWhenLargeEnoughElseItsOwnOnce) {
  RecordingDevice device;
  {
    LaunchContext context(device);
    char caller[64];
    EXPECT_EQ(context.workspace(caller, sizeof(caller), 64), caller);
    EXPECT_EQ(device.allocations, 0);
    void* own = context.workspace(caller, sizeof(caller), 65);
    EXPECT_NE(own, static_cast<void*>(caller));
    EXPECT_EQ(context.workspace(nullptr, 0, 32), own);  // kept, not reallocated for a smaller need
    EXPECT_EQ(device.allocations, 1);
  }
  EXPECT_EQ(device.releases, 1);  // released with the context
}

// A device whose synchronize fails (a kernel of the phase faulted).
class FailingSyncDevice : public RecordingDevice {
 public:
  void synchronize() override {
    if (++calls == fail_at) throw Error(ErrorCode::DeviceLost, "illegal address in the phase");
  }
  int calls = 0, fail_at = 2;
};

class NullSink : public detail::PhaseSink {
 public:
  void record(const detail::PhaseStats&) override {}
};

TEST(LaunchContext, APhasesFailedClosingSyncIsRethrownAtTheEndOfThePass) {
  FailingSyncDevice device;
  NullSink sink;
  LaunchContext context(device);
  context.set_phase_sink(&sink);
  context.begin_pass();
  { auto phase = context.phase("im2col", 0, 0); }  // the destructor's sync fails: no throw here
  try {
    context.end_pass();
    ADD_FAILURE() << "the phase's error was lost";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::DeviceLost);
  }
  context.begin_pass();
  EXPECT_NO_THROW(context.end_pass()) << "reported once";
}

TEST(LaunchContext, CarriesTheEnginesRunOptions) {
  RecordingDevice device;
  EXPECT_FALSE(LaunchContext(device).options().allow_tf32);
  EXPECT_TRUE(LaunchContext(device, RunOptions{.allow_tf32 = true}).options().allow_tf32);
}

}  // namespace
}  // namespace dcnjit::algo
