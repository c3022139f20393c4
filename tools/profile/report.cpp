#include "tools/profile/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/json_writer.h"
#include "tools/profile/roofline.h"

namespace dcnjit::profile {

PhaseRates rates(const detail::PhaseStats& phase, double total_ms, const Peaks& peaks) {
  PhaseRates r;
  if (total_ms > 0) r.share = phase.ms / total_ms;
  if (phase.ms > 0) {
    r.gbps = phase.bytes / (phase.ms * 1e6);  // bytes per ms -> GB/s
    r.gflops = phase.flops / (phase.ms * 1e6);
  }
  if (peaks.bandwidth_gbps > 0) r.bandwidth_of_peak = r.gbps / peaks.bandwidth_gbps;
  if (peaks.gemm_gflops > 0) r.gemm_of_peak = r.gflops / peaks.gemm_gflops;
  return r;
}

std::string counters_source(const detail::PhaseStats& phase) {
  if (phase.counted_launches && phase.modeled_gemms) return "simulated+gemm model";
  return phase.modeled_gemms ? "gemm model" : "simulated";
}

namespace {

std::string threads_text(int threads) { return threads > 0 ? fmt::format("{}", threads) : "all cores"; }

// "12.3 GB/s (45%)" or "-" when the phase moved nothing.
std::string rate_cell(double value, double of_peak, const char* unit) {
  if (value <= 0) return "-";
  if (of_peak <= 0) return fmt::format("{:.1f} {}", value, unit);
  return fmt::format("{:.1f} {} ({:.0f}%)", value, unit, 100 * of_peak);
}

std::string phase_summary(const ConfigProfile& p) {
  std::string s;
  for (const auto& phase : p.phases) s += fmt::format("{}{} {:.2f}", s.empty() ? "" : ", ", phase.name, phase.ms);
  return s;
}

std::optional<PhaseEstimate> phase_estimate(const ProfileReport& report, const detail::PhaseStats& phase) {
  if (!report.gpu) return std::nullopt;
  return estimate_phase(phase, *report.gpu, report.problem.dtype);
}

void write_phases(JsonWriter& json, const ConfigProfile& p, const ProfileReport& report) {
  json.key("phases").begin_array();
  double estimate_total = 0;
  for (const auto& phase : p.phases) {
    const PhaseRates r = rates(phase, p.total_ms, report.peaks);
    json.begin_object()
        .key("name").value(phase.name)
        .key("ms").value(phase.ms)
        .key("share").value(r.share)
        .key("bytes").value(phase.bytes)
        .key("flops").value(phase.flops)
        .key("gbps").value(r.gbps)
        .key("gflops").value(r.gflops)
        .key("atomics").value(phase.atomics)
        .key("bandwidth_of_peak").value(r.bandwidth_of_peak)
        .key("gemm_of_peak").value(r.gemm_of_peak);
    if (phase.has_counters()) {
      json.key("counters").begin_object();
      for (const auto& field : detail::KernelCounters::fields()) json.key(field.name).value(static_cast<long long>(phase.counters.*field.member));
      json.end_object().key("counters_source").value(counters_source(phase));
    }
    if (const auto e = phase_estimate(report, phase)) {
      estimate_total += e->ms;
      json.key("estimate_ms").value(e->ms)
          .key("estimate_limit").value(e->limit)
          .key("estimate_terms_ms").begin_object()
          .key("dram").value(e->dram_ms)
          .key("l2").value(e->l2_ms)
          .key("compute").value(e->compute_ms)
          .end_object();
    }
    json.end_object();
  }
  json.end_array();
  if (report.gpu) json.key("estimate_total_ms").value(estimate_total);
}

// The table of counters (and with --gpu the estimates) of the chosen config.
std::string counters_table(const ProfileReport& report) {
  const ConfigProfile& chosen = report.chosen;
  auto per_request = [](uint64_t sectors, uint64_t requests) {
    return requests ? fmt::format("{:.2f}", double(sectors) / double(requests)) : std::string("-");
  };
  std::string out = "\nGPU counters per phase (sim: exact for the simulated execution; source \"gemm model\": the sim runs "
                    "GEMMs on the host, their counters are a model)\n";
  out += fmt::format("counting run: {:.3f} ms ({:.1f}x the median run; not part of the timings above)\n",
                     chosen.counting_ms, chosen.total_ms > 0 ? chosen.counting_ms / chosen.total_ms : 0.0);
  out += fmt::format("{:<16} {:>11} {:>8} {:>11} {:>8} {:>10} {:>10} {:>10} {:>9} {:>10} {:>9} {:>8}  {}\n", "phase",
                     "ld req", "sect/req", "st req", "sect/req", "unique MB", "shared req", "bank conf", "atom req",
                     "atom conf", "mma ops", "barriers", "source");
  for (const auto& phase : chosen.phases) {
    if (!phase.has_counters()) continue;
    const detail::KernelCounters& c = phase.counters;
    out += fmt::format("{:<16} {:>11} {:>8} {:>11} {:>8} {:>10.2f} {:>10} {:>10} {:>9} {:>10} {:>9} {:>8}  {}\n",
                       phase.name, c.global_load_requests, per_request(c.global_load_sectors, c.global_load_requests),
                       c.global_store_requests, per_request(c.global_store_sectors, c.global_store_requests),
                       double(c.global_unique_sectors) * 32 / 1e6, c.shared_requests, c.shared_bank_conflicts,
                       c.atomic_requests, c.atomic_conflicts, c.mma_ops, c.barriers, counters_source(phase));
  }
  if (!report.gpu) return out;
  const GpuSpec& g = *report.gpu;
  out += fmt::format("\nestimate on {} ({}: {:.0f} GB/s DRAM, {:.0f} GB/s L2 ({}), {:.1f} TFLOP/s FP32, {:.1f} TFLOP/s "
                     "tensor {}), not a measurement:\n  {}\n",
                     g.name, g.description, g.dram_gbps, g.l2_gbps, g.l2_source, g.fp32_tflops,
                     g.tensor_tflops(report.problem.dtype), to_string(report.problem.dtype), roofline_model_text());
  out += fmt::format("{:<16} {:>12} {:>8} {:>10} {:>10} {:>11}\n", "phase", "estimate ms", "limit", "dram ms", "l2 ms",
                     "compute ms");
  double total = 0;
  for (const auto& phase : chosen.phases) {
    const auto e = phase_estimate(report, phase);
    if (!e) continue;
    total += e->ms;
    out += fmt::format("{:<16} {:>12.4g} {:>8} {:>10.4g} {:>10.4g} {:>11.4g}\n", phase.name, e->ms, e->limit, e->dram_ms,
                       e->l2_ms, e->compute_ms);
  }
  out += fmt::format("{:<16} {:>12.4g}  (estimate)\n", "estimate total", total);
  return out;
}

// The time the config's FLOPs (every phase's) take at the arithmetic ceiling: no implementation of the
// pass on this machine can be faster. 0 without a ceiling.
double floor_ms(const ConfigProfile& config, const Peaks& peaks) {
  if (peaks.ceiling_gflops <= 0) return 0;
  double flops = 0;
  for (const auto& phase : config.phases) flops += phase.flops;
  return flops / (peaks.ceiling_gflops * 1e6);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string format_table(const ProfileReport& report) {
  const ConfigProfile& chosen = report.chosen;
  std::string out;
  out += fmt::format("dcnjit profile: {} pass, {} backend, {} thread(s), median of {} run(s) after {} warm-up\n",
                     to_string(report.pass), to_string(report.backend), threads_text(report.threads),
                     report.timing.repeats, report.timing.warmup);
  out += fmt::format("problem: {}\nconfig:  {}\n", report.problem.to_string(), chosen.config.to_string());
  const Peaks& pk = report.peaks;
  out += fmt::format("peaks:   {}: ", pk.device);
  out += pk.bandwidth_gbps > 0 ? fmt::format("{:.1f} GB/s ({})", pk.bandwidth_gbps, pk.bandwidth_method) : "GB/s n/a";
  out += pk.gemm_gflops > 0 ? fmt::format(", {:.1f} GFLOP/s ({})", pk.gemm_gflops, pk.gemm_method) : ", GFLOP/s n/a";
  out += "\n";
  if (pk.ceiling_gflops > 0) {
    out += fmt::format("ceiling: {:.1f} GFLOP/s ({})", pk.ceiling_gflops, pk.ceiling_method);
    const double floor = floor_ms(chosen, pk);
    if (floor > 0 && chosen.total_ms > 0)
      out += fmt::format(";\n         the pass's FLOPs at the ceiling: {:.3f} ms ({:.0f}% of its total)", floor,
                         100 * floor / chosen.total_ms);
    out += "\n";
  }
  if (!pk.note.empty()) out += fmt::format("         note: {}\n", pk.note);

  out += fmt::format("\n{:<16} {:>10} {:>7} {:>10} {:>10} {:>18} {:>20} {:>12}\n", "phase", "ms", "share", "MB",
                     "GFLOP", "GB/s (of peak)", "GFLOP/s (of peak)", "atomics");
  double sum = 0;
  for (const auto& phase : chosen.phases) {
    const PhaseRates r = rates(phase, chosen.total_ms, pk);
    sum += phase.ms;
    out += fmt::format("{:<16} {:>10.3f} {:>6.1f}% {:>10.2f} {:>10.3f} {:>18} {:>20} {:>12}\n", phase.name, phase.ms,
                       100 * r.share, phase.bytes / 1e6, phase.flops / 1e9, rate_cell(r.gbps, r.bandwidth_of_peak, "GB/s"),
                       rate_cell(r.gflops, r.gemm_of_peak, "GFLOP/s"),
                       phase.atomics > 0 ? fmt::format("{:.3g}", phase.atomics) : "-");
  }
  out += fmt::format("{:<16} {:>10.3f} {:>6.1f}%\n", "total", chosen.total_ms, chosen.total_ms > 0 ? 100 * sum / chosen.total_ms : 0);
  const double other = chosen.phases.empty() ? 0 : chosen.phases.back().ms;
  if (chosen.total_ms > 0 && std::abs(other) > 0.15 * chosen.total_ms)
    out += fmt::format("warning: {:.1f}% of the time is not attributed to any backend phase\n",
                       100 * other / chosen.total_ms);

  if (report.counted) out += counters_table(report);

  if (!report.alternatives.empty()) {
    std::vector<const ConfigProfile*> ranked;
    for (const auto& a : report.alternatives) ranked.push_back(&a);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](const ConfigProfile* a, const ConfigProfile* b) { return a->total_ms < b->total_ms; });
    out += fmt::format("\nalternatives (one change from the chosen config; saves > 0: faster than chosen)\n");
    out += fmt::format("{:<22} {:>10} {:>10} {:>8}   {}\n", "change", "total ms", "saves ms", "saves", "phases (ms)");
    for (const ConfigProfile* a : ranked) {
      const double saved = saves_ms(report, *a);
      out += fmt::format("{:<22} {:>10.3f} {:>+10.3f} {:>+7.1f}%   {}\n", a->label, a->total_ms, saved,
                         chosen.total_ms > 0 ? 100 * saved / chosen.total_ms : 0, phase_summary(*a));
    }
  }
  for (const auto& s : report.skipped) out += fmt::format("skipped {}\n", s);
  return out;
}

std::string format_json(const ProfileReport& report) {
  JsonWriter json;
  json.begin_object()
      .key("problem").value(report.problem.to_string())
      .key("pass").value(to_string(report.pass))
      .key("backend").value(to_string(report.backend))
      .key("threads").value(report.threads)
      .key("warmup").value(report.timing.warmup)
      .key("repeats").value(report.timing.repeats)
      .key("label").value(report.chosen.label)
      .key("config").value(report.chosen.config.to_string())
      .key("total_ms").value(report.chosen.total_ms)
      .key("counted").value(report.counted)
      .key("counting_ms").value(report.chosen.counting_ms);
  write_phases(json, report.chosen, report);
  json.key("alternatives").begin_array();
  for (const auto& a : report.alternatives) {
    json.begin_object().key("label").value(a.label).key("config").value(a.config.to_string()).key("total_ms").value(a.total_ms);
    if (report.counted) json.key("counting_ms").value(a.counting_ms);
    write_phases(json, a, report);
    json.key("saves_ms").value(saves_ms(report, a)).end_object();
  }
  json.end_array();
  json.key("skipped").begin_array();
  for (const auto& s : report.skipped) json.value(s);
  json.end_array();
  const Peaks& pk = report.peaks;
  json.key("peaks").begin_object()
      .key("device").value(pk.device)
      .key("bandwidth_gbps").value(pk.bandwidth_gbps)
      .key("bandwidth_method").value(pk.bandwidth_method)
      .key("gemm_gflops").value(pk.gemm_gflops)
      .key("gemm_method").value(pk.gemm_method)
      .key("ceiling_gflops").value(pk.ceiling_gflops)
      .key("ceiling_method").value(pk.ceiling_method)
      .key("floor_ms").value(floor_ms(report.chosen, pk))
      .key("note").value(pk.note)
      .end_object();
  if (report.gpu) {
    const GpuSpec& g = *report.gpu;
    json.key("gpu").begin_object()
        .key("name").value(g.name)
        .key("description").value(g.description)
        .key("sms").value(g.sms)
        .key("dram_gbps").value(g.dram_gbps)
        .key("l2_mb").value(g.l2_mb)
        .key("l2_gbps").value(g.l2_gbps)
        .key("l2_source").value(g.l2_source)
        .key("fp32_tflops").value(g.fp32_tflops)
        .key("tensor_tflops").value(g.tensor_tflops(report.problem.dtype))
        .key("model").value(roofline_model_text())
        .end_object();
  }
  json.end_object();
  return json.str() + "\n";
}

std::string format_csv(const ProfileReport& report) {
  std::string out = "label,config,total_ms,saves_ms,phase,ms,share,bytes,flops,gbps,gflops,atomics";
  for (const auto& field : detail::KernelCounters::fields()) out += std::string(",") + field.name;
  out += ",counters_source,estimate_ms,estimate_limit\n";
  auto rows = [&](const ConfigProfile& p) {
    for (const auto& phase : p.phases) {
      const PhaseRates r = rates(phase, p.total_ms, report.peaks);
      out += fmt::format("{},{},{:.9g},{:.9g},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}", csv_field(p.label),
                         csv_field(p.config.to_string()), p.total_ms, saves_ms(report, p), csv_field(phase.name),
                         phase.ms, r.share, phase.bytes, phase.flops, r.gbps, r.gflops, phase.atomics);
      for (const auto& field : detail::KernelCounters::fields())
        out += phase.has_counters() ? fmt::format(",{}", phase.counters.*field.member) : std::string(",");
      out += ',';
      if (phase.has_counters()) out += csv_field(counters_source(phase));
      const auto e = phase_estimate(report, phase);
      out += e ? fmt::format(",{:.9g},{}\n", e->ms, e->limit) : std::string(",,\n");
    }
  };
  rows(report.chosen);
  for (const auto& a : report.alternatives) rows(a);
  return out;
}

}  // namespace dcnjit::profile
