// CUDA kernels using nvcuda::wmma and cp.async (cuda_pipeline.h), written as a GPU kernel would be:
// the sim's WMMA and cp.async tests run them through the shim (wmma_test.cpp, async_copy_test.cpp)
// and tests/runtime/nvrtc compiles the very same text for sm_80 and sm_90 (C++17, no standard
// headers), so the emulated API is the one NVRTC accepts.
#pragma once

#include <string>
#include <vector>

namespace dcnjit::sim::testing {

struct TestKernel {
  std::string name;
  std::string source;
};

// One 16x16 tile of C = scale * A * B per block (one warp): A row-major 16 x k (ldm k), B
// column-major k x 16 (ldm k), C row-major (ldm 16). ELEMENT is __half or __nv_bfloat16.
inline std::string wmma_tile_source() {
  return R"(
#include <mma.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
using namespace nvcuda;
struct Params { const ELEMENT* a; const ELEMENT* b; float* c; int k; float scale; };
extern "C" __global__ void NAME(Params p) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, ELEMENT, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, ELEMENT, wmma::col_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  const ELEMENT* a_tile = p.a + blockIdx.x * 16 * p.k;
  const ELEMENT* b_tile = p.b + blockIdx.y * 16 * p.k;
  wmma::fill_fragment(acc, 0.0f);
  for (int k0 = 0; k0 < p.k; k0 += 16) {
    wmma::load_matrix_sync(a, a_tile + k0, p.k);
    wmma::load_matrix_sync(b, b_tile + k0, p.k);
    wmma::mma_sync(acc, a, b, acc);
  }
  for (int i = 0; i < acc.num_elements; ++i) acc.x[i] *= p.scale;
  const int ldc = 16 * gridDim.y;
  wmma::store_matrix_sync(p.c + blockIdx.x * 16 * ldc + blockIdx.y * 16, acc, ldc, wmma::mem_row_major);
}
)";
}

// The same product in tf32 (m16n16k8): A and B are f32 in memory, converted in the fragments.
inline std::string wmma_tf32_source() {
  return R"(
#include <mma.h>
using namespace nvcuda;
struct Params { const float* a; const float* b; float* c; int k; float scale; };
extern "C" __global__ void NAME(Params p) {
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int k0 = 0; k0 < p.k; k0 += 8) {
    wmma::load_matrix_sync(a, p.a + k0, p.k);
    wmma::load_matrix_sync(b, p.b + k0, p.k);
    for (int i = 0; i < a.num_elements; ++i) a.x[i] = wmma::__float_to_tf32(a.x[i]);
    for (int i = 0; i < b.num_elements; ++i) b.x[i] = wmma::__float_to_tf32(b.x[i]);
    wmma::mma_sync(acc, a, b, acc);
  }
  wmma::store_matrix_sync(p.c, acc, 16, wmma::mem_row_major);
}
)";
}

// Wrong on purpose: writes the accumulator's x[] as if lane l held row-major elements
// [l * num_elements, (l + 1) * num_elements) of the tile. The fragment's element order is
// unspecified, so this depends on the architecture (and on the sim's permutation).
inline std::string wmma_order_dependent_source() {
  return R"(
#include <mma.h>
#include <cuda_fp16.h>
using namespace nvcuda;
struct Params { const __half* a; const __half* b; float* c; int k; float scale; };
extern "C" __global__ void NAME(Params p) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  wmma::load_matrix_sync(a, p.a, p.k);
  wmma::load_matrix_sync(b, p.b, p.k);
  wmma::mma_sync(acc, a, b, acc);
  const int lane = threadIdx.x % 32;
  for (int i = 0; i < acc.num_elements; ++i) p.c[lane * acc.num_elements + i] = acc.x[i];
}
)";
}

// Lane `skip` does not take part in the mma_sync (a divergent warp-collective).
inline std::string wmma_divergent_source() {
  return R"(
#include <mma.h>
#include <cuda_fp16.h>
using namespace nvcuda;
struct Params { const __half* a; const __half* b; float* c; int k; float scale; };
extern "C" __global__ void NAME(Params p) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  wmma::load_matrix_sync(a, p.a, p.k);
  wmma::load_matrix_sync(b, p.b, p.k);
  if (threadIdx.x != 5) wmma::mma_sync(acc, a, b, acc);
  wmma::store_matrix_sync(p.c, acc, 16, wmma::mem_row_major);
}
)";
}

// Sums, per thread, one element of each of `tiles` tiles of 64 floats, staged through a double
// buffer in dynamic shared memory with cp.async: tile i+1 is in flight while tile i is read. Each
// thread reads its neighbour's element, so the barrier after the wait matters too. `prior` is the
// argument of __pipeline_wait_prior: 1 is right (tile i+1 may stay in flight); 2 waits for too
// little; a negative value skips the wait.
inline std::string async_double_buffer_source() {
  return R"(
#include <cuda_pipeline.h>
struct Params { const float* in; float* out; int tiles; int prior; };
extern "C" __global__ void NAME(Params p) {
  extern __shared__ float buffer[];  // [2][64]
  const int t = threadIdx.x;
  float sum = 0.0f;
  __pipeline_memcpy_async(&buffer[t], &p.in[t], sizeof(float));
  __pipeline_commit();
  for (int i = 0; i < p.tiles; ++i) {
    if (i + 1 < p.tiles) __pipeline_memcpy_async(&buffer[((i + 1) % 2) * 64 + t], &p.in[(i + 1) * 64 + t], sizeof(float));
    __pipeline_commit();
    if (p.prior >= 0) __pipeline_wait_prior(p.prior);
    __syncthreads();
    sum += buffer[(i % 2) * 64 + (t + 1) % 64];
    __syncthreads();
  }
  p.out[t] = sum;
}
)";
}

// 16-byte copies with zero fill: thread t copies 16 - 4 * (t % 4) bytes of its float4 and zeros the rest.
inline std::string async_zero_fill_source() {
  return R"(
#include <cuda_pipeline.h>
struct Params { const float4* in; float4* out; };
extern "C" __global__ void NAME(Params p) {
  __shared__ float4 staging[32];
  const int t = threadIdx.x;
  __pipeline_memcpy_async(&staging[t], &p.in[t], sizeof(float4), 4 * (t % 4));
  __pipeline_commit();
  __pipeline_wait_prior(0);
  p.out[t] = staging[t];
}
)";
}

inline std::string named(std::string source, const std::string& name, const std::string& element = "") {
  for (std::size_t at; (at = source.find("NAME")) != std::string::npos;) source.replace(at, 4, name);
  for (std::size_t at; (at = source.find("ELEMENT")) != std::string::npos;) source.replace(at, 7, element);
  return source;
}

// Every kernel above with its name (and element type) filled in: what the sim tests run and the NVRTC
// test compiles.
inline std::vector<TestKernel> tensor_core_test_kernels() {
  return {
      {"wmma_tile_f16", named(wmma_tile_source(), "wmma_tile_f16", "__half")},
      {"wmma_tile_bf16", named(wmma_tile_source(), "wmma_tile_bf16", "__nv_bfloat16")},
      {"wmma_tile_tf32", named(wmma_tf32_source(), "wmma_tile_tf32")},
      {"wmma_order_dependent", named(wmma_order_dependent_source(), "wmma_order_dependent")},
      {"wmma_divergent", named(wmma_divergent_source(), "wmma_divergent")},
      {"async_double_buffer", named(async_double_buffer_source(), "async_double_buffer")},
      {"async_zero_fill", named(async_zero_fill_source(), "async_zero_fill")},
  };
}

inline std::string kernel_source(const std::string& name) {
  for (const TestKernel& kernel : tensor_core_test_kernels())
    if (kernel.name == name) return kernel.source;
  return {};
}

}  // namespace dcnjit::sim::testing
