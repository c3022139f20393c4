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

// Phase-by-phase table of the chosen config, then the alternatives ranked by what they save.
std::string format_table(const ProfileReport& report);

// {"problem", "pass", "backend", "threads", "repeats", "label", "config", "total_ms",
//  "phases": [{"name","ms","share","bytes","flops","gbps","gflops","atomics","bandwidth_of_peak","gemm_of_peak"}],
//  "alternatives": [{"label","config","total_ms","phases":[...],"saves_ms"}], "skipped": [...], "peaks": {...}}
std::string format_json(const ProfileReport& report);

// One row per (config, phase), chosen config first:
// label,config,total_ms,saves_ms,phase,ms,share,bytes,flops,gbps,gflops,atomics
std::string format_csv(const ProfileReport& report);

}  // namespace dcnjit::profile
