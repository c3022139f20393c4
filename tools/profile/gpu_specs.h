// Public specifications of the GPUs `dcnjit profile --gpu NAME` can estimate for (roofline.h): the
// numbers the roofline model needs, each with its source in gpu_specs.cpp. Dense (no structured
// sparsity) tensor-core peaks with f32 accumulation, as the kernels accumulate in f32.
#pragma once

#include <string>
#include <vector>

#include "dcnjit/problem.h"

namespace dcnjit::profile {

struct GpuSpec {
  std::string name;         // what --gpu takes: "h100-sxm"
  std::string description;  // "NVIDIA H100 SXM5 80GB"
  int sms = 0;
  double boost_mhz = 0;
  double dram_gbps = 0;  // 1e9 bytes/s
  double l2_mb = 0;
  double l2_gbps = 0;      // see gpu_specs.cpp: derived, not a datasheet figure
  double fp32_tflops = 0;  // CUDA cores (FFMA)
  double fp64_tflops = 0;  // CUDA cores (DFMA)
  double tf32_tflops = 0;  // tensor cores
  double f16_tflops = 0;   // tensor cores, f32 accumulate
  double bf16_tflops = 0;  // tensor cores, f32 accumulate
  std::string l2_source;   // how l2_gbps was obtained (shown with the estimate)

  // Tensor-core peak for MMAs on `dtype` operands (f32 problems: tf32; f64: the CUDA-core peak, the
  // kernels issue no FP64 MMAs).
  double tensor_tflops(DType dtype) const;
  // Peak of the FLOPs that do not run on tensor cores: FP64 for f64 problems, else FP32.
  double core_tflops(DType dtype) const { return dtype == DType::f64 ? fp64_tflops : fp32_tflops; }
};

const std::vector<GpuSpec>& gpu_specs();
// The spec named `name`; Error(InvalidArgument) listing the known names otherwise.
const GpuSpec& gpu_spec(const std::string& name);

}  // namespace dcnjit::profile
