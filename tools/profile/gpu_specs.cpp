#include "tools/profile/gpu_specs.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit::profile {

namespace {

// L2 bandwidth has no datasheet figure. GA100 and GH100 deliver 5120 bytes per clock from L2 (the
// A100 whitepaper's 2.3x V100 L2 read bandwidth; Table 3 of "Ultrasonics Sonochemistry 99 (2023)
// 106546", doi:10.1016/j.ultsonch.2023.106546, lists 7219 GB/s for A100 at 1410 MHz and 8986 GB/s
// for H100 at 1755 MHz, i.e. 5120 B/clk); the model multiplies it by the boost clock. For Ada
// (AD102/AD104) no per-clock figure is public: the same 5120 B/clk is assumed, flagged as such.
constexpr double kL2BytesPerClock = 5120;
double l2_gbps(double boost_mhz) { return kL2BytesPerClock * boost_mhz * 1e6 / 1e9; }

std::vector<GpuSpec> make_specs() {
  std::vector<GpuSpec> specs;
  {
    // NVIDIA H100 Tensor Core GPU datasheet (SXM column): 3.35 TB/s HBM3, FP32 67 TFLOPS, TF32 989,
    // BF16/FP16 1979 TFLOPS "with sparsity" (dense = half: the Hopper whitepaper's table lists 494.7
    // and 989.4 dense, FP32 66.9). 132 SMs and 50 MB L2: NVIDIA Hopper architecture whitepaper.
    // Boost 1980 MHz: nvidia-smi's max SM clock of H100 SXM5.
    GpuSpec g;
    g.name = "h100-sxm";
    g.description = "NVIDIA H100 SXM5 80GB";
    g.sms = 132;
    g.boost_mhz = 1980;
    g.dram_gbps = 3350;
    g.l2_mb = 50;
    g.fp32_tflops = 66.9;
    g.fp64_tflops = 33.5;  // datasheet: FP64 34 TFLOPS (whitepaper 33.5)
    g.tf32_tflops = 494.7;
    g.f16_tflops = 989.4;
    g.bf16_tflops = 989.4;
    g.l2_source = "5120 B/clk (GH100) x 1980 MHz";
    specs.push_back(g);
  }
  {
    // NVIDIA H100 datasheet (PCIe column): 2 TB/s HBM2e, FP32 51 TFLOPS, TF32 756, BF16/FP16 1513
    // TFLOPS with sparsity (dense 378 / 756.5; Hopper whitepaper: FP32 51.2). 114 SMs, 50 MB L2 and
    // 1755 MHz boost: Hopper whitepaper (also measured by Chips and Cheese, "Nvidia's H100: Funny L2,
    // and Tons of Bandwidth", 2023).
    GpuSpec g;
    g.name = "h100-pcie";
    g.description = "NVIDIA H100 PCIe 80GB";
    g.sms = 114;
    g.boost_mhz = 1755;
    g.dram_gbps = 2000;
    g.l2_mb = 50;
    g.fp32_tflops = 51.2;
    g.fp64_tflops = 25.6;  // datasheet: FP64 26 TFLOPS (whitepaper 25.6)
    g.tf32_tflops = 378;
    g.f16_tflops = 756.5;
    g.bf16_tflops = 756.5;
    g.l2_source = "5120 B/clk (GH100) x 1755 MHz";
    specs.push_back(g);
  }
  {
    // NVIDIA A100 Tensor Core GPU datasheet (80GB SXM): 2039 GB/s HBM2e, FP32 19.5 TFLOPS, TF32 156,
    // BF16/FP16 312 dense. 108 SMs, 40 MB L2, 1410 MHz boost: NVIDIA A100 (Ampere) whitepaper.
    GpuSpec g;
    g.name = "a100-sxm";
    g.description = "NVIDIA A100 SXM4 80GB";
    g.sms = 108;
    g.boost_mhz = 1410;
    g.dram_gbps = 2039;
    g.l2_mb = 40;
    g.fp32_tflops = 19.5;
    g.fp64_tflops = 9.7;  // datasheet: FP64 9.7 TFLOPS
    g.tf32_tflops = 156;
    g.f16_tflops = 312;
    g.bf16_tflops = 312;
    g.l2_source = "5120 B/clk (GA100) x 1410 MHz";
    specs.push_back(g);
  }
  {
    // NVIDIA L40S datasheet: 864 GB/s GDDR6, 142 SMs (568 fourth-generation tensor cores / 4),
    // 96 MB L2, FP32 91.6 TFLOPS, TF32 183 / BF16 and FP16 362.05 TFLOPS dense (366 / 733 with
    // sparsity), 2520 MHz boost.
    GpuSpec g;
    g.name = "l40s";
    g.description = "NVIDIA L40S 48GB";
    g.sms = 142;
    g.boost_mhz = 2520;
    g.dram_gbps = 864;
    g.l2_mb = 96;
    g.fp32_tflops = 91.6;
    g.fp64_tflops = 91.6 / 64;  // not in the datasheet: Ada's FP64 rate is 1/64 of FP32 (Ada whitepaper)
    g.tf32_tflops = 183;
    g.f16_tflops = 362.05;
    g.bf16_tflops = 362.05;
    g.l2_source = "assumed 5120 B/clk (no public Ada figure) x 2520 MHz";
    specs.push_back(g);
  }
  {
    // NVIDIA Ada Lovelace architecture whitepaper, appendix table for GeForce RTX 4090: 128 SMs,
    // 2520 MHz boost, 1008 GB/s GDDR6X, 72 MB L2, FP32 82.6 TFLOPS, TF32 82.6, FP16 and BF16 tensor
    // with FP32 accumulate 165.2 TFLOPS dense (GeForce runs f32 accumulation at half the f16 rate).
    GpuSpec g;
    g.name = "rtx4090";
    g.description = "NVIDIA GeForce RTX 4090";
    g.sms = 128;
    g.boost_mhz = 2520;
    g.dram_gbps = 1008;
    g.l2_mb = 72;
    g.fp32_tflops = 82.6;
    g.fp64_tflops = 1.29;  // Ada whitepaper: 1/64 of FP32
    g.tf32_tflops = 82.6;
    g.f16_tflops = 165.2;
    g.bf16_tflops = 165.2;
    g.l2_source = "assumed 5120 B/clk (no public Ada figure) x 2520 MHz";
    specs.push_back(g);
  }
  for (GpuSpec& g : specs) g.l2_gbps = l2_gbps(g.boost_mhz);
  return specs;
}

}  // namespace

double GpuSpec::tensor_tflops(DType dtype) const {
  switch (dtype) {
    case DType::f16:
      return f16_tflops;
    case DType::bf16:
      return bf16_tflops;
    case DType::f64:
      return fp64_tflops;
    default:
      return tf32_tflops;
  }
}

const std::vector<GpuSpec>& gpu_specs() {
  static const std::vector<GpuSpec> specs = make_specs();
  return specs;
}

const GpuSpec& gpu_spec(const std::string& name) {
  std::string known;
  for (const GpuSpec& g : gpu_specs()) {
    if (g.name == name) return g;
    known += (known.empty() ? "" : ", ") + g.name;
  }
  throw Error(ErrorCode::InvalidArgument, fmt::format("--gpu {}: unknown GPU (known: {})", name, known));
}

}  // namespace dcnjit::profile
