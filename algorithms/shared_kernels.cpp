#include "algorithms/shared_kernels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/problem_tensors.h"
#include "templates/shared_params.cuh"

namespace dcnjit::algo {

bool needs_64bit_index(double largest_tensor_elements) { return largest_tensor_elements >= kIndex32Limit; }

const char* dtype_constant(DType dtype) {
  switch (dtype) {
    case DType::f32: return "dcn::kF32";
    case DType::f16: return "dcn::kF16";
    case DType::bf16: return "dcn::kBF16";
    case DType::f64: return "dcn::kF64";
  }
  return "?";
}

const char* layout_constant(Layout layout) { return layout == Layout::nhwc ? "dcn::kNHWC" : "dcn::kNCHW"; }

gen::SpecArgument dtype_argument(DType dtype) { return {"dtype", dtype_constant(dtype), to_string(dtype)}; }
gen::SpecArgument layout_argument(Layout layout) { return {"layout", layout_constant(layout), to_string(layout)}; }
gen::SpecArgument index_argument(bool index64) {
  return {"index", index64 ? "long long" : "int", index64 ? "i64" : "i32"};
}
gen::SpecArgument threads_argument(int block_threads) {
  return {"block_threads", std::to_string(block_threads), fmt::format("t{}", block_threads)};
}
gen::SpecArgument items_argument(int items) { return {"items", std::to_string(items), fmt::format("it{}", items)}; }

std::string storage_detail(DType dtype) {
  return fmt::format("dtype     {} storage, {} math and accumulation", to_string(dtype),
                     dtype == DType::f64 ? "f64" : "f32");
}

gen::KernelSpec bias_grad_kernel(const Problem& problem, int block_threads) {
  gen::KernelSpec spec;
  spec.family = "bias_grad";
  spec.summary = "grad_y -> grad_bias";
  spec.header = "templates/bias_grad.cuh";
  spec.function = "dcn::bias_grad";
  spec.spec_template = "dcn::ReductionSpec";
  const bool index64 = needs_64bit_index(double(problem.N) * double(problem.Co) * double(problem.Ho()) * double(problem.Wo()));
  spec.arguments = {dtype_argument(problem.dtype), layout_argument(problem.layout), index_argument(index64),
                    threads_argument(block_threads)};
  spec.params_type = "dcn::BiasGradParams";
  spec.details = {storage_detail(problem.dtype), fmt::format("indexing  {}-bit", index64 ? 64 : 32),
                  fmt::format("launch    {} threads per block, one block per output channel", block_threads)};
  spec.block_threads = block_threads;
  spec.min_blocks_per_sm = block_threads >= 512 ? 1 : 512 / block_threads;
  return spec;
}

void launch_bias_grad(LaunchContext& context, const gen::KernelSpec& spec, const Problem& problem, const void* grad_y,
                      void* grad_bias) {
  dcn::BiasGradParams p;
  std::memset(&p, 0, sizeof(p));
  p.grad_y = grad_y;
  p.grad_bias = grad_bias;
  p.N = problem.N;
  p.Co = problem.Co;
  p.pixels = problem.Ho() * problem.Wo();
  const ActivationStrides s = output_strides(problem);
  p.grad_y_strides = {s.image, s.channel, s.pixel};
  detail::LaunchDims dims;
  dims.grid[0] = unsigned(std::min<int64_t>(problem.Co, context.traits().max_grid_x));  // one block per channel
  dims.block[0] = unsigned(spec.block_threads);
  context.launch(spec, dims, p);
}

namespace {

gen::KernelSpec elementwise_kernel(const char* family, const char* summary, const char* function, DType dtype,
                                   bool index64, int block_threads, int items) {
  gen::KernelSpec spec;
  spec.family = family;
  spec.summary = summary;
  spec.header = "templates/cast.cuh";
  spec.function = function;
  spec.spec_template = "dcn::ElementwiseSpec";
  spec.arguments = {dtype_argument(dtype), index_argument(index64), threads_argument(block_threads),
                    items_argument(items)};
  spec.params_type = "dcn::ElementwiseParams";
  spec.details = {storage_detail(dtype), fmt::format("indexing  {}-bit", index64 ? 64 : 32),
                  fmt::format("launch    {} threads per block, {} item(s) per thread, grid-stride", block_threads,
                              items)};
  spec.block_threads = block_threads;
  spec.items = items;
  spec.min_blocks_per_sm = block_threads >= 512 ? 1 : 512 / block_threads;
  return spec;
}

}  // namespace

gen::KernelSpec cast_kernel(DType dtype, bool index64, int block_threads, int items) {
  return elementwise_kernel("cast", "f32 accumulator -> storage dtype", "dcn::cast_from_f32", dtype, index64,
                            block_threads, items);
}

void launch_cast(LaunchContext& context, const gen::KernelSpec& spec, const void* src_f32, void* dst, int64_t count) {
  dcn::ElementwiseParams p;
  std::memset(&p, 0, sizeof(p));
  p.src = src_f32;
  p.dst = dst;
  p.count = count;
  context.launch(spec, context.grid_stride(count, spec.block_threads, spec.items), p);
}

}  // namespace dcnjit::algo
