// The driver loader: every way of not having a usable driver is a clean Error(NoDevice) whose message
// says what is missing, never a crash. These run on machines without a GPU (they are the point).
#include "runtime/cuda/driver_api.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "dcnjit/error.h"
#include "runtime/cuda/device_context.h"
#include "tests/runtime/cuda/gpu_available.h"

namespace dcnjit::cuda {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Runs `load` and returns the Error it must throw; fails the test when it does not throw one.
template <typename Load>
Error expect_error(Load load) {
  try {
    load();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a dcnjit::Error";
  return Error(ErrorCode::Internal, "");
}

TEST(DriverApiLoad, MissingLibrary_IsNoDeviceNamingTheLibrary) {
  const Error e = expect_error([] { DriverApi api("libcuda_dcnjit_test_missing.so.1"); });
  EXPECT_EQ(e.code(), ErrorCode::NoDevice);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("no CUDA driver"), HasSubstr("libcuda_dcnjit_test_missing.so.1 not found")));
}

TEST(DriverApiLoad, ToolkitStubLibrary_IsNotMistakenForADriver) {
  // The stub exists to link against; its cuInit returns CUDA_ERROR_STUB_LIBRARY.
  if (!std::filesystem::exists(DCNJIT_CUDA_STUB_LIBRARY))
    GTEST_SKIP() << "this machine has no CUDA toolkit stub at " << DCNJIT_CUDA_STUB_LIBRARY;
  const Error e = expect_error([] { DriverApi api(DCNJIT_CUDA_STUB_LIBRARY); });
  EXPECT_EQ(e.code(), ErrorCode::NoDevice);
  EXPECT_THAT(e.what(), HasSubstr("stub"));
}

TEST(DriverApiLoad, LibraryWithoutDriverSymbols_IsNoDeviceNamingTheSymbol) {
  // A real shared library that is not a driver: libm has no cuInit.
  const Error e = expect_error([] { DriverApi api("libm.so.6"); });
  EXPECT_EQ(e.code(), ErrorCode::NoDevice);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("cuInit"), HasSubstr("not a CUDA driver library")));
}

TEST(DriverApiLoad, ProcessDriverWithoutDriver_ThrowsTheSameNoDeviceEveryTime) {
  if (void* handle = dlopen(kDriverLibrary, RTLD_NOW | RTLD_LOCAL)) {
    dlclose(handle);
    GTEST_SKIP() << "this machine has " << kDriverLibrary << "; the missing-driver path cannot be observed";
  }
  const Error first = expect_error([] { driver(); });
  const Error second = expect_error([] { driver(); });
  EXPECT_EQ(first.code(), ErrorCode::NoDevice);
  EXPECT_EQ(second.code(), ErrorCode::NoDevice);
  EXPECT_THAT(first.what(), HasSubstr("libcuda.so.1 not found"));
  EXPECT_STREQ(first.what(), second.what());
}

TEST(FormatCudaVersion, SplitsMajorAndMinor) {
  EXPECT_EQ(format_cuda_version(13000), "13.0");
  EXPECT_EQ(format_cuda_version(12080), "12.8");
  EXPECT_EQ(format_cuda_version(11040), "11.4");
}

// ---- With a GPU ----

TEST(DriverApiGpu, DeviceZero_ReportsPlausibleProperties) {
  DCNJIT_REQUIRE_GPU();
  const DeviceInfo info = query_device(driver(), 0);
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.cc_major, 7) << "NVRTC 13 targets sm_75 and newer";
  EXPECT_EQ(info.arch(), "sm_" + std::to_string(info.cc_major * 10 + info.cc_minor));
  EXPECT_GT(info.sm_count, 0);
  EXPECT_GT(info.l2_bytes, 0);
  EXPECT_GE(info.driver_version, 12000);
  EXPECT_GE(info.max_grid_x, 65535u);
}

TEST(DriverApiGpu, OrdinalPastTheLastDevice_IsNoDeviceNamingTheOrdinal) {
  DCNJIT_REQUIRE_GPU();
  const Error e = expect_error([] { query_device(driver(), 4096); });
  EXPECT_EQ(e.code(), ErrorCode::NoDevice);
  EXPECT_THAT(e.what(), HasSubstr("CUDA device 4096 requested"));
}

TEST(DriverApiGpu, FailingCall_NamesTheCallAndTheDriverError) {
  DCNJIT_REQUIRE_GPU();
  const DriverApi& api = driver();
  PrimaryContext context(api, 0);
  ContextScope scope(api, context.get());
  CUdeviceptr pointer = 0;
  // More memory than any GPU has: CUDA_ERROR_OUT_OF_MEMORY, reported with the call text.
  const Error e = expect_error([&] { DCNJIT_CU(api, cuMemAlloc(&pointer, std::size_t(1) << 50)); });
  EXPECT_EQ(e.code(), ErrorCode::LaunchError);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("cuMemAlloc(&pointer"), HasSubstr("CUDA_ERROR_OUT_OF_MEMORY")));
}

TEST(DriverApiGpu, PrimaryContext_IsTheContextTheRuntimeWouldUse) {
  DCNJIT_REQUIRE_GPU();
  const DriverApi& api = driver();
  PrimaryContext first(api, 0);
  PrimaryContext second(api, 0);
  // Retaining twice yields the same (primary) context, which is what cudart and PyTorch use.
  EXPECT_EQ(first.get(), second.get());
}

}  // namespace
}  // namespace dcnjit::cuda
