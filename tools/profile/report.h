// The profiler's outputs: a table for the terminal, JSON and CSV for scripts. (The SVG chart is in
// svg_chart.h.) Every format carries the same numbers; derived rates are computed here once.
#pragma once

#include <string>

#include "tools/profile/profiler.h"

namespace dcnjit::profile {

// Achieved rates of one phase. 0 where the phase moved no bytes / did no FLOPs or took no time.
struct PhaseRates {
  double share = 0;          // ms / total_ms of its config
  double gbps = 0;           // bytes / time
  double gflops = 0;         // flops / time
  double bandwidth_of_peak = 0;  // gbps / measured peak (0 when the peak is unknown)
  double gemm_of_peak = 0;       // gflops / measured peak
};
PhaseRates rates(const detail::PhaseStats& phase, double total_ms, const Peaks& peaks);

// "simulated", "gemm model" or "simulated+gemm model": where a phase's counters come from.
std::string counters_source(const detail::PhaseStats& phase);

// Phase-by-phase table of the chosen config (with its GPU counters and estimates when the report has
// them), then the alternatives ranked by what they save.
std::string format_table(const ProfileReport& report);

// {"problem", "pass", "backend", "threads", "repeats", "label", "config", "total_ms", "counted", "counting_ms",
//  "phases": [{"name","ms","share","bytes","flops","gbps","gflops","atomics","bandwidth_of_peak","gemm_of_peak",
//              counted: "counters": {KernelCounters::fields() names}, "counters_source",
//              --gpu: "estimate_ms", "estimate_limit", "estimate_terms_ms": {"dram","l2","compute"}}],
//  --gpu: "estimate_total_ms",
//  "alternatives": [{"label","config","total_ms",counted: "counting_ms","phases":[...],"saves_ms"}], "skipped": [...],
//  "peaks": {...},
//  --gpu: "gpu": {"name","description","sms","dram_gbps","l2_mb","l2_gbps","l2_source","fp32_tflops",
//                 "tensor_tflops","model"}}
std::string format_json(const ProfileReport& report);

// One row per (config, phase), chosen config first:
// label,config,total_ms,saves_ms,phase,ms,share,bytes,flops,gbps,gflops,atomics,<the counters>,
// counters_source,estimate_ms,estimate_limit (counter and estimate cells empty where absent)
std::string format_csv(const ProfileReport& report);

}  // namespace dcnjit::profile
