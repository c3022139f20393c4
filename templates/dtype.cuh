// Storage types and their conversions. Tensors are stored as f32, f16, bf16 or f64; every kernel loads
// through widen() into its compute type (double for f64, float for the others: f16/bf16 math and
// accumulation happen in f32), and stores through store_as(), rounding to nearest even.
// cuda_fp16.h / cuda_bf16.h come from the toolkit (NVRTC: --include-path; sim: the host copy).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "templates/portability.cuh"

namespace dcn {

enum DType : int { kF32 = 0, kF16 = 1, kBF16 = 2, kF64 = 3 };

template <int kDType> struct StorageOf;
template <> struct StorageOf<kF32> { using type = float; };
template <> struct StorageOf<kF16> { using type = __half; };
template <> struct StorageOf<kBF16> { using type = __nv_bfloat16; };
template <> struct StorageOf<kF64> { using type = double; };

// The type a kernel computes and accumulates in for a storage type.
template <int kDType> struct ComputeOf { using type = float; };
template <> struct ComputeOf<kF64> { using type = double; };

DCN_DEVICE float widen(float v) { return v; }
DCN_DEVICE double widen(double v) { return v; }
DCN_DEVICE float widen(__half v) { return __half2float(v); }
DCN_DEVICE float widen(__nv_bfloat16 v) { return __bfloat162float(v); }

// Round to nearest even, as the host conversions in core/half.h.
template <typename T> DCN_DEVICE T store_as(float v);
template <> DCN_DEVICE float store_as<float>(float v) { return v; }
template <> DCN_DEVICE __half store_as<__half>(float v) { return __float2half_rn(v); }
template <> DCN_DEVICE __nv_bfloat16 store_as<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <typename T> DCN_DEVICE T store_as(double v);
template <> DCN_DEVICE double store_as<double>(double v) { return v; }

}  // namespace dcn
