// Errors the sim must report instead of hanging, crashing or silently computing garbage: divergent
// barriers, broken warp collectives, __trap(), launches beyond GPU limits, host compile errors and
// a missing host compiler.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dcnjit/error.h"
#include "runtime/sim/host_compiler.h"
#include "tests/runtime/sim/sim_test_kernels.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::sim {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::launch;
using testing::load_kernel;

// Runs `body`, expects Error with `code`, returns its message.
template <typename Body>
std::string error_message(ErrorCode code, Body body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no dcnjit::Error thrown";
  return {};
}

struct OutParams {
  int* out;
};

// Threads of the upper half skip the barrier (they return early): a divergent __syncthreads.
constexpr const char* kEarlyExit = R"(
struct Params { int* out; };
extern "C" __global__ void barrier_after_early_exit(Params p) {
  if (threadIdx.x >= 32) return;
  __syncthreads();
  p.out[threadIdx.x] = 1;
}
)";

TEST(SimFailures, BarrierThatExitedThreadsNeverReachIsReportedWithTheSite) {
  auto* kernel = load_kernel("barrier_after_early_exit", kEarlyExit);
  std::vector<int> out(64, 0);
  const std::string message =
      error_message(ErrorCode::LaunchError, [&] { launch(kernel, 2, 64, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("barrier_after_early_exit"), HasSubstr("divergent"),
                             HasSubstr("threads 0-31: wait at __syncthreads"),
                             HasSubstr(".cpp:5"),  // line 5 of the source string (it starts with a newline)
                             HasSubstr("threads 32-63: exited")));
}

// Two branches with their own __syncthreads: the two halves wait at different barriers.
constexpr const char* kTwoBarriers = R"(
struct Params { int* out; };
extern "C" __global__ void barrier_in_branches(Params p) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  p.out[threadIdx.x] = 1;
}
)";

TEST(SimFailures, BarriersAtDifferentSitesAreReported) {
  auto* kernel = load_kernel("barrier_in_branches", kTwoBarriers);
  std::vector<int> out(32, 0);
  const std::string message = error_message(ErrorCode::LaunchError, [&] { launch(kernel, 1, 32, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("divergent"), HasSubstr(".cpp:5"), HasSubstr(".cpp:7")));
}

// Lane 0 shuffles with a mask that includes lane 1, which exits instead of joining.
constexpr const char* kMissingLane = R"(
struct Params { int* out; };
extern "C" __global__ void shuffle_missing_lane(Params p) {
  if (threadIdx.x == 1) return;
  p.out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 0);
}
)";

TEST(SimFailures, WarpCollectiveWithAnAbsentLaneIsReportedNotHung) {
  auto* kernel = load_kernel("shuffle_missing_lane", kMissingLane);
  std::vector<int> out(32, 0);
  const std::string message = error_message(ErrorCode::LaunchError, [&] { launch(kernel, 1, 32, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("can never complete"), HasSubstr("thread 1: exited"), HasSubstr("__shfl_sync")));
}

// Half the warp shuffles, the other half votes: the lanes disagree about the collective.
constexpr const char* kMismatch = R"(
struct Params { int* out; };
extern "C" __global__ void collective_mismatch(Params p) {
  if (threadIdx.x < 16) p.out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
  else p.out[threadIdx.x] = __ballot_sync(0xffffffffu, 1);
}
)";

TEST(SimFailures, LanesCallingDifferentCollectivesAreReported) {
  auto* kernel = load_kernel("collective_mismatch", kMismatch);
  std::vector<int> out(32, 0);
  const std::string message = error_message(ErrorCode::LaunchError, [&] { launch(kernel, 1, 32, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("disagrees"), HasSubstr("__shfl_xor_sync"), HasSubstr("__ballot_sync")));
}

// A full-warp mask in a block of 48 threads: the second warp has only 16 lanes.
constexpr const char* kPartialWarp = R"(
struct Params { int* out; };
extern "C" __global__ void full_mask_partial_warp(Params p) {
  p.out[threadIdx.x] = __shfl_down_sync(0xffffffffu, int(threadIdx.x), 1);
}
)";

TEST(SimFailures, MaskNamingLanesThatDoNotExistIsReported) {
  auto* kernel = load_kernel("full_mask_partial_warp", kPartialWarp);
  std::vector<int> out(48, 0);
  const std::string message = error_message(ErrorCode::LaunchError, [&] { launch(kernel, 1, 48, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("do not exist"), HasSubstr("0x0000ffff"), HasSubstr("48 threads")));
}

constexpr const char* kTrap = R"(
struct Params { int* out; };
extern "C" __global__ void traps_on_thread_5(Params p) {
  if (threadIdx.x == 5) __trap();
  p.out[threadIdx.x] = 1;
}
)";

TEST(SimFailures, TrapEndsTheLaunchWithTheThreadNamed) {
  auto* kernel = load_kernel("traps_on_thread_5", kTrap);
  std::vector<int> out(32, 0);
  const std::string message = error_message(ErrorCode::LaunchError, [&] { launch(kernel, 1, 32, OutParams{out.data()}); });
  EXPECT_THAT(message, AllOf(HasSubstr("thread (5,0,0) trapped"), HasSubstr("__trap")));
}

TEST(SimFailures, LaunchBeyondGpuLimitsOrWithWrongParameterSizeIsRejected) {
  auto* kernel = load_kernel("traps_on_thread_5", kTrap);  // never runs: every launch below is rejected
  std::vector<int> out(32, 0);
  OutParams params{out.data()};
  detail::LaunchDims dims;
  dims.block[0] = 2048;
  EXPECT_THAT(error_message(ErrorCode::LaunchError,
                            [&] { testing::shared_device().launch(kernel, dims, &params, sizeof params); }),
              HasSubstr("block (2048,1,1)"));
  dims.block[0] = 32;
  dims.dynamic_shared_bytes = 300000;
  EXPECT_THAT(error_message(ErrorCode::LaunchError,
                            [&] { testing::shared_device().launch(kernel, dims, &params, sizeof params); }),
              HasSubstr("dynamic shared memory"));
  dims.dynamic_shared_bytes = 0;
  EXPECT_THAT(error_message(ErrorCode::LaunchError,
                            [&] { testing::shared_device().launch(kernel, dims, &params, sizeof params + 4); }),
              HasSubstr("parameter block has 12 bytes"));
}

TEST(SimFailures, HostCompileErrorCarriesTheLogAndNumberedSource) {
  const std::string source =
      "struct Params { int* out; };\n"
      "extern \"C\" __global__ void does_not_compile(Params p) {\n"
      "  p.out[threadIdx.x] = undeclared_identifier;\n"
      "}\n";
  const std::string message = error_message(ErrorCode::CompileError, [&] { load_kernel("does_not_compile", source); });
  EXPECT_THAT(message, AllOf(HasSubstr("kernel does_not_compile"), HasSubstr("undeclared_identifier"),
                             HasSubstr(":3:"),  // the compiler's file:line:column of the error
                             HasSubstr("   3 |   p.out[threadIdx.x] = undeclared_identifier;")));
}

TEST(SimFailures, MissingHostCompilerNamesTheVariable) {
  ASSERT_EQ(setenv("DCNJIT_SIM_CXX", "/nonexistent/bin/g++", 1), 0);
  const HostCompiler compiler = HostCompiler::from_environment();
  unsetenv("DCNJIT_SIM_CXX");
  EXPECT_EQ(compiler.path(), "/nonexistent/bin/g++");
  SimKernelDevice device(SimOptions{.threads = 1, .order = ThreadOrder::in_order()}, compiler);
  gen::KernelSource kernel;
  kernel.name = "never_compiled";
  kernel.source = "struct Params { int x; };\nextern \"C\" __global__ void never_compiled(Params) {}\n";
  kernel.param_type = "Params";
  const std::string message = error_message(ErrorCode::CompileError, [&] { device.load(kernel); });
  EXPECT_THAT(message, AllOf(HasSubstr("/nonexistent/bin/g++"), HasSubstr("DCNJIT_SIM_CXX")));
}

TEST(SimFailures, KernelNameThatIsNotAnIdentifierIsRejected) {
  EXPECT_THAT(error_message(ErrorCode::InvalidArgument, [&] { load_kernel("bad name", "int x;"); }),
              HasSubstr("'bad name'"));
}

// A stand-in compiler written by the test: a shell script with `body`.
std::string compiler_script(const dcnjit::testing::ScratchDirectory& dir, const std::string& body) {
  const std::string path = dir.file("fake-compiler.sh");
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

// A compiler that exits 0 but writes nothing used to be reported as a work directory that could not be
// written; the compiler is at fault, and the message says so.
TEST(SimFailures, CompilerThatSucceedsWithoutOutputIsNamed) {
  dcnjit::testing::ScratchDirectory dir;
  const HostCompiler compiler("/bin/true", "the test");
  const std::string message = error_message(ErrorCode::CompileError, [&] {
    compiler.compile({"-shared", "-o", dir.file("k.so"), dir.file("k.cpp")}, "kernel k", "int x;");
  });
  EXPECT_THAT(message, AllOf(HasSubstr("'/bin/true' (from the test) exited with status 0 but wrote no " +
                                       dir.file("k.so")),
                             HasSubstr("kernel k")));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("work directory")));
}

// There was no limit: a compiler that hangs hung dcnjit.
TEST(SimFailures, CompilerThatHangsIsStoppedAfterTheTimeout) {
  dcnjit::testing::ScratchDirectory dir;
  const HostCompiler compiler(compiler_script(dir, "sleep 60 & sleep 60"), "the test");
  ASSERT_EQ(setenv("DCNJIT_SIM_COMPILE_TIMEOUT", "1", 1), 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_message(ErrorCode::CompileError, [&] {
    compiler.compile({"-o", dir.file("k.so"), dir.file("k.cpp")}, "kernel k", "");
  });
  unsetenv("DCNJIT_SIM_COMPILE_TIMEOUT");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_THAT(message, AllOf(HasSubstr("did not finish within 1 s"), HasSubstr("DCNJIT_SIM_COMPILE_TIMEOUT")));
}

// A compiler that prints 1.4 MB put all of it into the error: now its start and its end, with a note.
TEST(SimFailures, NoisyCompilerLogIsCutToItsStartAndEnd) {
  dcnjit::testing::ScratchDirectory dir;
  const std::string script =
      "echo FIRST LINE; yes 'warning: noisy line' | head -c 1400000; echo; echo LAST LINE; exit 1";
  const HostCompiler compiler(compiler_script(dir, script), "the test");
  const std::string message = error_message(ErrorCode::CompileError, [&] {
    compiler.compile({"-o", dir.file("k.so"), dir.file("k.cpp")}, "kernel k", "");
  });
  EXPECT_LT(message.size(), 100000u);
  EXPECT_THAT(message, AllOf(HasSubstr("FIRST LINE"), HasSubstr("LAST LINE"),
                             HasSubstr("bytes of compiler output left out")));
}

}  // namespace
}  // namespace dcnjit::sim
