#include "tools/profile/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "tools/profile/report.h"
#include "tools/profile/roofline.h"

namespace dcnjit::profile {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

double nice_tick_step(double max_value, int ticks) {
  if (!(max_value > 0) || ticks < 1) return 1;
  const double raw = max_value / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

namespace {

// Colorblind-friendly palette (Okabe-Ito, then Tol's muted); "other" is always neutral gray.
constexpr const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                                    "#F0E442", "#332288", "#88CCEE", "#44AA99", "#AA4499", "#882255"};
constexpr const char* kOtherColor = "#B0B0B0";

struct Layout {
  static constexpr double width = 980, bar_height = 26, bar_gap = 12, top = 88, right = 90, font = 12;
  double left = 0;  // room for the bar labels
};

// One line of a phase's GPU counters, for the chart's counter panel and hover titles.
std::string counters_line(const detail::PhaseStats& phase) {
  const detail::KernelCounters& c = phase.counters;
  auto per_request = [](uint64_t sectors, uint64_t requests) { return requests ? double(sectors) / double(requests) : 0.0; };
  return fmt::format(
      "{}: loads {} req ({:.2f} sectors/req), stores {} req ({:.2f} sectors/req), unique {:.2f} MB, shared {} req "
      "({} bank conflicts), atomics {} req ({} conflicts), mma {} [{}]",
      phase.name, c.global_load_requests, per_request(c.global_load_sectors, c.global_load_requests),
      c.global_store_requests, per_request(c.global_store_sectors, c.global_store_requests),
      double(c.global_unique_sectors) * 32 / 1e6, c.shared_requests, c.shared_bank_conflicts, c.atomic_requests,
      c.atomic_conflicts, c.mma_ops, counters_source(phase));
}

}  // namespace

std::string format_svg(const ProfileReport& report) {
  std::vector<const ConfigProfile*> bars{&report.chosen};
  for (const auto& a : report.alternatives) bars.push_back(&a);

  // Legend order: phases in the order they first appear, "other" last, so colors are stable across bars.
  std::vector<std::string> phase_names;
  for (const ConfigProfile* bar : bars)
    for (const auto& phase : bar->phases)
      if (phase.name != kOtherPhase && std::find(phase_names.begin(), phase_names.end(), phase.name) == phase_names.end())
        phase_names.push_back(phase.name);
  phase_names.push_back(kOtherPhase);
  auto color_of = [&](const std::string& name) -> std::string {
    if (name == kOtherPhase) return kOtherColor;
    const auto index = std::size_t(std::find(phase_names.begin(), phase_names.end(), name) - phase_names.begin());
    return kPalette[index % std::size(kPalette)];
  };

  Layout L;
  std::size_t longest_label = 0;
  for (const ConfigProfile* bar : bars) longest_label = std::max(longest_label, bar->label.size());
  L.left = std::clamp(20.0 + 7.0 * double(longest_label), 120.0, 360.0);
  const double plot_width = L.width - L.left - L.right;
  const double plot_height = double(bars.size()) * (L.bar_height + L.bar_gap);
  const double axis_y = L.top + plot_height;
  const double legend_y = axis_y + 48;
  const int legend_columns = 4;
  const double legend_rows = std::ceil(double(phase_names.size()) / legend_columns);
  // Below the legend: the chosen config's GPU counters (sim), then its estimate bars (--gpu).
  std::vector<const detail::PhaseStats*> counted;
  for (const auto& phase : report.chosen.phases)
    if (phase.has_counters()) counted.push_back(&phase);
  const double counters_y = legend_y + legend_rows * 22 + 30;
  const double counters_height = counted.empty() ? 0 : 24 + 18 * double(counted.size());
  const double estimate_y = counters_y + counters_height + 20;
  const double estimate_height = report.gpu && !counted.empty() ? 60 + 24 * double(counted.size()) : 0;
  const double height = estimate_y + estimate_height + 20;

  double max_ms = 0;
  for (const ConfigProfile* bar : bars) {
    double positive = 0;  // a negative "other" (phases overlapping) draws nothing
    for (const auto& phase : bar->phases) positive += std::max(0.0, phase.ms);
    max_ms = std::max({max_ms, bar->total_ms, positive});
  }
  const double tick = nice_tick_step(max_ms, 6);
  const double axis_max = std::max(tick, std::ceil(max_ms / tick) * tick);
  auto x_of = [&](double ms) { return L.left + plot_width * ms / axis_max; };

  std::string svg;
  svg += fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"{2:.0f}\">\n",
      L.width, height, L.font);
  svg += fmt::format("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  svg += fmt::format("<text x=\"{:.0f}\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", L.left,
                     xml_escape(fmt::format("dcnjit {} pass on {}: time per phase", to_string(report.pass),
                                            to_string(report.backend))));
  svg += fmt::format("<text x=\"{:.0f}\" y=\"46\" fill=\"#444\">{}</text>\n", L.left,
                     xml_escape(fmt::format("{} | {}", report.problem.to_string(), report.peaks.device)));
  svg += fmt::format("<text x=\"{:.0f}\" y=\"64\" fill=\"#444\">{}</text>\n", L.left,
                     xml_escape(fmt::format("chosen config: {}", report.chosen.config.to_string())));

  // Grid and axis.
  for (double v = 0; v <= axis_max + tick / 2; v += tick) {
    const double x = x_of(v);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n", x,
                       L.top - 6, axis_y);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", x, axis_y + 16, v);
  }
  svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n", L.left,
                     axis_y, L.left + plot_width);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">time per pass (ms, median run)</text>\n",
                     L.left + plot_width / 2, axis_y + 34);

  // Bars.
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const ConfigProfile& bar = *bars[i];
    const double y = L.top + double(i) * (L.bar_height + L.bar_gap);
    const bool is_chosen = i == 0;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\"{}>{}</text>\n", L.left - 8,
                       y + L.bar_height / 2 + 4, is_chosen ? " font-weight=\"bold\"" : "", xml_escape(bar.label));
    double start = 0;
    for (const auto& phase : bar.phases) {
      if (phase.ms <= 0) continue;
      const double share = bar.total_ms > 0 ? 100 * phase.ms / bar.total_ms : 0;
      std::string title = fmt::format("{}: {:.3f} ms ({:.1f}%)", phase.name, phase.ms, share);
      if (phase.has_counters()) {
        title += '\n';
        title += counters_line(phase);
      }
      svg += fmt::format(
          "<rect x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"white\" "
          "stroke-width=\"0.5\"><title>{}</title></rect>\n",
          x_of(start), y, x_of(start + phase.ms) - x_of(start), L.bar_height, color_of(phase.name), xml_escape(title));
      start += phase.ms;
    }
    std::string total = fmt::format("{:.2f} ms", bar.total_ms);
    if (!is_chosen) {
      const double saved = saves_ms(report, bar);
      total += fmt::format(" ({:+.1f}%)", report.chosen.total_ms > 0 ? -100 * saved / report.chosen.total_ms : 0);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x_of(start) + 6, y + L.bar_height / 2 + 4,
                       xml_escape(total));
  }

  // Legend.
  const double column_width = (L.width - L.left) / legend_columns;
  for (std::size_t k = 0; k < phase_names.size(); ++k) {
    const double x = L.left + double(k % legend_columns) * column_width;
    const double y = legend_y + double(k / legend_columns) * 22;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" fill=\"{}\"/>\n", x, y,
                       color_of(phase_names[k]));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x + 20, y + 11, xml_escape(phase_names[k]));
  }

  if (!counted.empty()) {
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" font-weight=\"bold\">{}</text>\n", 20.0, counters_y,
                       xml_escape("GPU counters of the chosen config (sim: exact for the simulated execution)"));
    for (std::size_t i = 0; i < counted.size(); ++i)
      svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n", 20.0,
                         counters_y + 20 + 18 * double(i), xml_escape(counters_line(*counted[i])));
  }
  if (estimate_height > 0) {
    const GpuSpec& gpu = *report.gpu;
    std::vector<std::optional<PhaseEstimate>> estimates;
    double longest = 0;
    for (const detail::PhaseStats* phase : counted) {
      estimates.push_back(estimate_phase(*phase, gpu, report.problem.dtype));
      if (estimates.back()) longest = std::max(longest, estimates.back()->ms);
    }
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" font-weight=\"bold\">{}</text>\n", 20.0, estimate_y,
                       xml_escape(fmt::format("estimate on {} ({}), ms per phase: roofline over the counters, not a "
                                              "measurement",
                                              gpu.name, gpu.description)));
    const double estimate_scale = longest > 0 ? plot_width / longest : 0;
    for (std::size_t i = 0; i < counted.size(); ++i) {
      const double y = estimate_y + 14 + 24 * double(i);
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", L.left - 8, y + 13,
                         xml_escape(counted[i]->name));
      if (!estimates[i]) continue;
      const PhaseEstimate& e = *estimates[i];
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"18\" fill=\"{}\"><title>{}</title></rect>\n",
          L.left, y, e.ms * estimate_scale, color_of(counted[i]->name),
          xml_escape(fmt::format("estimate {}: {:.4f} ms, bound by {} (dram {:.4f}, l2 {:.4f}, compute {:.4f} ms)",
                                 counted[i]->name, e.ms, e.limit, e.dram_ms, e.l2_ms, e.compute_ms)));
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", L.left + e.ms * estimate_scale + 6, y + 13,
                         xml_escape(fmt::format("estimate {:.4f} ms ({})", e.ms, e.limit)));
    }
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" fill=\"#444\" font-size=\"11\">{}</text>\n", 20.0,
                       estimate_y + 30 + 24 * double(counted.size()), xml_escape(roofline_model_text()));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace dcnjit::profile
