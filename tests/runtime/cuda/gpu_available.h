// GPU tests run when a CUDA driver and device are usable and skip with the loader's reason otherwise
// (CI and the development machines have no GPU).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "dcnjit/error.h"
#include "runtime/cuda/device_context.h"
#include "runtime/cuda/driver_api.h"

namespace dcnjit::cuda::testing {

// "" when device 0 is usable, else why not (the NoDevice message).
inline std::string why_no_gpu() {
  try {
    query_device(driver(), 0);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace dcnjit::cuda::testing

#define DCNJIT_REQUIRE_GPU()                                                               \
  do {                                                                                     \
    if (const std::string why = ::dcnjit::cuda::testing::why_no_gpu(); !why.empty())       \
      GTEST_SKIP() << "no CUDA driver/GPU: " << why;                                       \
  } while (false)
