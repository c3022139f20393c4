// Kernel families every algorithm may use (templates/bias_grad.cuh, templates/cast.cuh): their specs,
// and the spelling of the constants all specs share.
#pragma once

#include <string>

#include "algorithms/launch_context.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo {

// 32-bit element indices are used while every tensor a kernel indexes has fewer than 2^30 elements,
// so that grid-stride loop counters (index + grid stride) cannot overflow; else 64-bit. In double: the
// products of a huge problem must not overflow while being compared.
inline constexpr double kIndex32Limit = double(1ll << 30);
bool needs_64bit_index(double largest_tensor_elements);

const char* dtype_constant(DType dtype);     // "dcn::kF32"
const char* layout_constant(Layout layout);  // "dcn::kNCHW"
gen::SpecArgument dtype_argument(DType dtype);                // {"dtype", "dcn::kF16", "f16"}
gen::SpecArgument layout_argument(Layout layout);             // {"layout", "dcn::kNHWC", "nhwc"}
gen::SpecArgument index_argument(bool index64);               // {"index", "long long", "i64"}
gen::SpecArgument threads_argument(int block_threads);        // {"block_threads", "256", "t256"}
gen::SpecArgument items_argument(int items);                  // {"items", "2", "it2"}
std::string storage_detail(DType dtype);                      // "dtype     f16 storage, f32 math and accumulation"

// grad_bias: one block of `block_threads` per output channel.
gen::KernelSpec bias_grad_kernel(const Problem& problem, int block_threads);
void launch_bias_grad(LaunchContext& context, const gen::KernelSpec& spec, const Problem& problem,
                      const void* grad_y, void* grad_bias);

// f32 accumulator -> storage dtype.
gen::KernelSpec cast_kernel(DType dtype, bool index64, int block_threads, int items);
void launch_cast(LaunchContext& context, const gen::KernelSpec& spec, const void* src_f32, void* dst, int64_t count);

}  // namespace dcnjit::algo
