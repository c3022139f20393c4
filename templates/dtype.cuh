// Storage types and their conversions. Tensors are stored as f32, f16 or bf16; every kernel loads
// through to_float() and does its math and accumulation in f32, then stores through store_as().
// cuda_fp16.h / cuda_bf16.h come from the toolkit (NVRTC: --include-path; sim: the host copy).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "templates/portability.cuh"

namespace dcn {

enum DType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };

template <int kDType> struct StorageOf;
template <> struct StorageOf<kF32> { using type = float; };
template <> struct StorageOf<kF16> { using type = __half; };
template <> struct StorageOf<kBF16> { using type = __nv_bfloat16; };

DCN_DEVICE float to_float(float v) { return v; }
DCN_DEVICE float to_float(__half v) { return __half2float(v); }
DCN_DEVICE float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// Round to nearest even, as the host conversions in runtime/half.h.
template <typename T> DCN_DEVICE T store_as(float v);
template <> DCN_DEVICE float store_as<float>(float v) { return v; }
template <> DCN_DEVICE __half store_as<__half>(float v) { return __float2half_rn(v); }
template <> DCN_DEVICE __nv_bfloat16 store_as<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

}  // namespace dcn
