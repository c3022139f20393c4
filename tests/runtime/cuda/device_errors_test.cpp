// Which error a CUDA device reports (runtime/cuda/device_errors.h, driver_api.h's classification):
// the first one, whether it came from a call that can throw or from a release that cannot. No GPU needed.
#include "runtime/cuda/device_errors.h"

#include <gtest/gtest.h>

#include "runtime/cuda/driver_api.h"

namespace dcnjit::cuda {
namespace {

std::string thrown_message(DeviceErrors& errors, ErrorCode expected) {
  try {
    errors.throw_pending();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "nothing pending";
  return {};
}

TEST(DriverErrors, StickyErrorsLoseTheDeviceOthersAreLaunchErrors) {
  for (CUresult sticky : {CUDA_ERROR_ILLEGAL_ADDRESS, CUDA_ERROR_LAUNCH_FAILED, CUDA_ERROR_ILLEGAL_INSTRUCTION,
                          CUDA_ERROR_MISALIGNED_ADDRESS, CUDA_ERROR_ASSERT, CUDA_ERROR_LAUNCH_TIMEOUT,
                          CUDA_ERROR_ECC_UNCORRECTABLE, CUDA_ERROR_DEINITIALIZED})
    EXPECT_EQ(error_code_for(sticky), ErrorCode::DeviceLost) << sticky;
  for (CUresult recoverable : {CUDA_ERROR_OUT_OF_MEMORY, CUDA_ERROR_INVALID_VALUE, CUDA_ERROR_INVALID_HANDLE,
                               CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, CUDA_ERROR_NOT_FOUND})
    EXPECT_EQ(error_code_for(recoverable), ErrorCode::LaunchError) << recoverable;
}

TEST(DeviceErrors, NothingPendingThrowsNothing) {
  DeviceErrors errors;
  EXPECT_NO_THROW(errors.throw_pending());
  EXPECT_FALSE(errors.lost());
}

TEST(DeviceErrors, AFaultIsRepeatedByEveryLaterCallAndLaterFailuresAreItsConsequences) {
  DeviceErrors errors;
  errors.thrown(Error(ErrorCode::DeviceLost, "cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS"));
  // The unwinding destructors' releases fail with the same sticky error, then something else.
  errors.noted(Error(ErrorCode::DeviceLost, "cuMemFree failed: CUDA_ERROR_ILLEGAL_ADDRESS"));
  errors.noted(Error(ErrorCode::LaunchError, "cuMemFree failed: CUDA_ERROR_INVALID_VALUE"));
  EXPECT_TRUE(errors.lost());
  for (int call = 0; call < 2; ++call) {
    const std::string message = thrown_message(errors, ErrorCode::DeviceLost);
    EXPECT_NE(message.find("cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS"), std::string::npos) << message;
    EXPECT_NE(message.find("lost earlier"), std::string::npos) << message;
  }
}

TEST(DeviceErrors, AFailedReleaseIsReportedOnceByTheNextCall) {
  DeviceErrors errors;
  errors.noted(Error(ErrorCode::LaunchError, "cuMemFree failed: CUDA_ERROR_INVALID_VALUE"));
  errors.noted(Error(ErrorCode::LaunchError, "cuMemFree failed: second"));
  EXPECT_FALSE(errors.lost());
  EXPECT_EQ(thrown_message(errors, ErrorCode::LaunchError), "cuMemFree failed: CUDA_ERROR_INVALID_VALUE");
  EXPECT_NO_THROW(errors.throw_pending());  // reported once
}

TEST(DeviceErrors, AFaultDuringAReleaseLosesTheDevice) {
  DeviceErrors errors;
  errors.noted(Error(ErrorCode::DeviceLost, "cuMemFree failed: CUDA_ERROR_ILLEGAL_ADDRESS"));
  EXPECT_TRUE(errors.lost());
  EXPECT_NE(thrown_message(errors, ErrorCode::DeviceLost).find("cuMemFree"), std::string::npos);
}

TEST(DeviceErrors, ARecoverableThrownErrorLeavesTheDeviceUsable) {
  DeviceErrors errors;
  errors.thrown(Error(ErrorCode::LaunchError, "cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY"));
  EXPECT_FALSE(errors.lost());
  EXPECT_NO_THROW(errors.throw_pending());  // it was thrown already; nothing to repeat
}

}  // namespace
}  // namespace dcnjit::cuda
