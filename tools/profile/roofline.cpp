#include "tools/profile/roofline.h"

#include <algorithm>

namespace dcnjit::profile {

std::optional<PhaseEstimate> estimate_phase(const detail::PhaseStats& phase, const GpuSpec& gpu, DType dtype) {
  if (!phase.has_counters()) return std::nullopt;
  const detail::KernelCounters& c = phase.counters;
  constexpr double kSectorBytes = 32;
  PhaseEstimate e;
  e.dram_ms = double(c.global_unique_sectors) * kSectorBytes / (gpu.dram_gbps * 1e9) * 1e3;
  e.l2_ms = double(c.global_load_sectors + c.global_store_sectors + c.atomic_sectors) * kSectorBytes /
            (gpu.l2_gbps * 1e9) * 1e3;
  const double tensor_flops = double(c.flops);
  const double core_flops = std::max(0.0, phase.flops - tensor_flops);
  e.compute_ms =
      (tensor_flops / (gpu.tensor_tflops(dtype) * 1e12) + core_flops / (gpu.core_tflops(dtype) * 1e12)) * 1e3;
  e.ms = e.dram_ms;
  e.limit = "dram";
  if (e.l2_ms > e.ms) e.ms = e.l2_ms, e.limit = "l2";
  if (e.compute_ms > e.ms) e.ms = e.compute_ms, e.limit = "compute";
  return e;
}

std::string roofline_model_text() {
  return "estimate = max(DRAM: unique sectors x 32 B / DRAM bandwidth, L2: request sectors x 32 B / L2 bandwidth, "
         "compute: tensor FLOPs / tensor peak + other FLOPs / FP32 peak); an estimate, not a measurement";
}

}  // namespace dcnjit::profile
