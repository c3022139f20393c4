// CudaDevice on a GPU: memory, module loading and launches of a small hand-written kernel compiled
// through gen's NVRTC compiler, the params-size check, and event timing. All skip without a GPU.
#include "runtime/cuda/cuda_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "dcnjit/error.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tests/runtime/cuda/gpu_available.h"

namespace dcnjit::cuda {
namespace {

using ::testing::HasSubstr;

// y[i] = a * x[i] + i, with the arguments in one struct passed by value like every generated kernel.
struct AxpyParams {
  const float* x;
  float* y;
  float a;
  int count;
};

gen::KernelSource axpy_kernel() {
  gen::KernelSource kernel;
  kernel.name = "dcnjit_test_axpy_iota";
  kernel.param_type = "AxpyParams";
  kernel.block_threads = 128;
  kernel.source = R"(
struct AxpyParams { const float* x; float* y; float a; int count; };
extern "C" __global__ void dcnjit_test_axpy_iota(AxpyParams p) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += gridDim.x * blockDim.x)
    p.y[i] = p.a * p.x[i] + float(i);
}
)";
  return kernel;
}

KernelImage compile_without_cache(const gen::KernelSource& kernel, int arch) {
  nvrtc::CompiledKernel compiled = nvrtc::compile(kernel, arch);
  return KernelImage{compiled.binary, compiled.format == detail::BinaryFormat::cubin, compiled.entry};
}

class CudaDeviceGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DCNJIT_REQUIRE_GPU();
    device_ = std::make_unique<CudaDevice>(driver(), 0, [this](const gen::KernelSource& kernel, int arch) {
      ++compiles_;
      return compile_without_cache(kernel, arch);
    });
  }

  std::unique_ptr<CudaDevice> device_;
  int compiles_ = 0;
};

TEST_F(CudaDeviceGpuTest, LoadAndLaunch_ComputesOnTheGpuWithGridStrideLoop) {
  constexpr int kCount = 10000;
  std::vector<float> x(kCount);
  std::iota(x.begin(), x.end(), 0.0f);
  void* dx = device_->allocate(kCount * sizeof(float));
  void* dy = device_->allocate(kCount * sizeof(float));
  device_->copy_to_device(dx, x.data(), kCount * sizeof(float));

  detail::LoadedKernel* kernel = device_->load(axpy_kernel());
  AxpyParams params{static_cast<const float*>(dx), static_cast<float*>(dy), 2.0f, kCount};
  detail::LaunchDims dims;
  dims.grid[0] = 7;  // fewer threads than elements: the loop must cover the rest
  dims.block[0] = 128;
  device_->launch(kernel, dims, &params, sizeof(params));
  std::vector<float> y(kCount);
  device_->copy_to_host(y.data(), dy, kCount * sizeof(float));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(y[std::size_t(i)], 3.0f * float(i)) << "element " << i;
  device_->release(dx);
  device_->release(dy);
}

TEST_F(CudaDeviceGpuTest, LoadTwice_CompilesOnceAndReturnsTheSameKernel) {
  detail::LoadedKernel* first = device_->load(axpy_kernel());
  detail::LoadedKernel* second = device_->load(axpy_kernel());
  EXPECT_EQ(first, second);
  EXPECT_EQ(compiles_, 1);
}

TEST_F(CudaDeviceGpuTest, LaunchWithWrongParamsSize_IsInternalErrorNamingBothSizes) {
  detail::LoadedKernel* kernel = device_->load(axpy_kernel());
  AxpyParams params{};
  detail::LaunchDims dims;
  try {
    device_->launch(kernel, dims, &params, sizeof(params) + 8);
    FAIL() << "expected Error(Internal)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Internal);
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(sizeof(params) + 8) + "-byte params struct"));
    EXPECT_THAT(e.what(), HasSubstr("takes " + std::to_string(sizeof(params)) + " bytes"));
  }
}

TEST_F(CudaDeviceGpuTest, FillZero_ClearsExactlyTheRange) {
  std::vector<uint8_t> ones(256, 0xff);
  void* buffer = device_->allocate(ones.size());
  device_->copy_to_device(buffer, ones.data(), ones.size());
  device_->fill_zero(static_cast<char*>(buffer) + 16, 100);
  device_->synchronize();
  std::vector<uint8_t> back(ones.size());
  device_->copy_to_host(back.data(), buffer, back.size());
  for (std::size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], (i >= 16 && i < 116) ? 0 : 0xff) << "byte " << i;
  device_->release(buffer);
}

TEST_F(CudaDeviceGpuTest, TimeMs_MeasuresEnqueuedWork) {
  void* buffer = device_->allocate(std::size_t(64) << 20);
  const double ms = device_->time_ms([&] { device_->fill_zero(buffer, std::size_t(64) << 20); });
  // 64 MiB at any GPU bandwidth (< 10 TB/s) takes more than a microsecond, and far less than a second.
  EXPECT_GT(ms, 0.001);
  EXPECT_LT(ms, 1000.0);
  device_->release(buffer);
}

TEST_F(CudaDeviceGpuTest, AllocateMoreThanTheGpuHas_IsLaunchErrorSayingOutOfMemory) {
  try {
    device_->allocate(std::size_t(1) << 50);
    FAIL() << "expected Error(LaunchError)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::LaunchError);
    EXPECT_THAT(e.what(), HasSubstr("out of GPU memory"));
  }
}

}  // namespace
}  // namespace dcnjit::cuda
