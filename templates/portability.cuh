// The few definitions that let the kernel templates compile in all three places they are used:
// NVRTC (cuda backend), the host compiler against the SIMT shim (sim backend) and plain host C++
// (the pipeline reads params.cuh). Only constructs the shim provides are used by the kernels:
// no inline PTX, no asm, no textures.
#pragma once

// The shim may not define launch bounds; on the host they have no meaning.
#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__) && !defined(__launch_bounds__)
#define __launch_bounds__(...)
#endif

#ifndef DCN_DEVICE
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DCN_DEVICE __device__ __forceinline__
#else
#define DCN_DEVICE inline
#endif
#endif

// For rare paths kept out of a hot loop's register allocation (a real call on the GPU).
#ifndef DCN_DEVICE_NOINLINE
#if defined(__CUDACC__) || defined(__CUDACC_RTC__) || defined(DCNJIT_SIM)
#define DCN_DEVICE_NOINLINE __device__ __noinline__
#else
#define DCN_DEVICE_NOINLINE inline
#endif
#endif

namespace dcn {

constexpr unsigned kFullWarpMask = 0xffffffffu;
constexpr int kWarpSize = 32;

// Index of the lowest set bit of a non-zero word (ffs - 1).
DCN_DEVICE int lowest_set_bit(unsigned bits) {
#if defined(__CUDACC_RTC__) || defined(__CUDA_ARCH__)
  return __ffs(bits) - 1;
#else
  return __builtin_ctz(bits);
#endif
}

}  // namespace dcn
