// The time estimate of `dcnjit profile --backend sim --gpu NAME`: a roofline over the sim's counters
// (core/phases.h KernelCounters) and the GPU's public specifications (gpu_specs.h). An estimate,
// not a measurement, and labelled so wherever it is shown. Per phase, three lower bounds:
//   dram     global_unique_sectors * 32 bytes / DRAM bandwidth (every distinct sector crosses DRAM
//            once: the launch's footprint, a lower bound of its DRAM traffic)
//   l2       (global_load_sectors + global_store_sectors + atomic_sectors) * 32 bytes / L2 bandwidth
//            (every sector a request touches goes through L2; L1 hits are not modelled)
//   compute  flops (tensor-core FLOPs of the MMAs) / tensor peak of the problem's dtype
//            + max(0, phase FLOPs - tensor FLOPs) / FP32 peak (FP64 for f64 problems; the phase's own
//            FLOP count, core/phases.h, for the work on CUDA cores)
// The estimate is the largest of the three (perfect overlap of memory and compute, full occupancy,
// no launch overhead) and `limit` names it. A phase without counters has no estimate.
#pragma once

#include <optional>
#include <string>

#include "core/phases.h"
#include "dcnjit/problem.h"
#include "tools/profile/gpu_specs.h"

namespace dcnjit::profile {

struct PhaseEstimate {
  double dram_ms = 0, l2_ms = 0, compute_ms = 0;
  double ms = 0;      // max of the three
  std::string limit;  // "dram", "l2" or "compute"
};

std::optional<PhaseEstimate> estimate_phase(const detail::PhaseStats& phase, const GpuSpec& gpu, DType dtype);

// One line stating the model, for the outputs.
std::string roofline_model_text();

}  // namespace dcnjit::profile
