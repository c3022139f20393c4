// The report formats on a hand-built report with known numbers: derived rates, the JSON and CSV
// fields, and the SVG's structure and escaping. (The real CLI output is parsed by
// check_profile_outputs.py, run by ctest.)
#include "tools/profile/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "dcnjit/error.h"
#include "core/json_writer.h"
#include "tools/profile/gpu_specs.h"
#include "tools/profile/roofline.h"
#include "tools/profile/svg_chart.h"

namespace dcnjit::profile {
namespace {

detail::PhaseStats phase(const char* name, double ms, double bytes, double flops, double atomics = 0) {
  detail::PhaseStats p;
  p.name = name;
  p.ms = ms;
  p.bytes = bytes;
  p.flops = flops;
  p.atomics = atomics;
  return p;
}

ProfileReport known_report() {
  ProfileReport r;
  r.problem = Problem::parse("N1 C256 H50 W76 Co256 k3x3 p1x1 mask");
  r.peaks.device = "test CPU";
  r.peaks.bandwidth_gbps = 40;
  r.peaks.gemm_gflops = 100;
  r.chosen.label = "chosen";
  r.chosen.config = Config::parse("step=1 tile=0");
  r.chosen.total_ms = 100;
  // 2e9 bytes in 50 ms = 40 GB/s (100% of peak); 5e9 FLOPs in 40 ms = 125 GFLOP/s.
  r.chosen.phases = {phase("col2im_coord", 50, 2e9, 1e9, 7), phase("gemm_weight", 40, 1e8, 5e9),
                     phase(kOtherPhase, 10, 0, 0)};
  ConfigProfile alt;
  alt.label = "tile=\"512\"";  // quotes: must survive JSON, CSV and XML escaping
  alt.config = Config::parse("step=1 tile=512");
  alt.total_ms = 80;
  alt.phases = {phase("col2im_coord", 35, 2e9, 1e9), phase("gemm_weight", 40, 1e8, 5e9), phase(kOtherPhase, 5, 0, 0)};
  r.alternatives.push_back(alt);
  return r;
}

TEST(PhaseRates, AgainstMeasuredPeaks) {
  const ProfileReport r = known_report();
  const PhaseRates col2im = rates(r.chosen.phases[0], r.chosen.total_ms, r.peaks);
  EXPECT_DOUBLE_EQ(col2im.share, 0.5);
  EXPECT_DOUBLE_EQ(col2im.gbps, 40);
  EXPECT_DOUBLE_EQ(col2im.bandwidth_of_peak, 1.0);
  const PhaseRates gemm = rates(r.chosen.phases[1], r.chosen.total_ms, r.peaks);
  EXPECT_DOUBLE_EQ(gemm.gflops, 125);
  EXPECT_DOUBLE_EQ(gemm.gemm_of_peak, 1.25);
  const PhaseRates none = rates(phase("x", 0, 5, 5), 10, Peaks{});
  EXPECT_EQ(none.gbps, 0) << "a phase that took no time has no rate (not infinity)";
}

TEST(JsonWriter, EscapesAndSeparates) {
  JsonWriter w;
  w.begin_object().key("a\"b").value("x\ny").key("n").begin_array().value(1.5).value(2).end_array()
      .key("nan").value(std::nan("")).end_object();
  EXPECT_EQ(w.str(), R"({"a\"b": "x\ny", "n": [1.5, 2], "nan": null})");
}

TEST(FormatJson, CarriesTotalsPhasesAlternativesAndPeaks) {
  const std::string json = format_json(known_report());
  EXPECT_NE(json.find(R"("total_ms": 100,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"name": "col2im_coord", "ms": 50, "share": 0.5, "bytes": 2e+09, "flops": 1e+09, )"
                      R"("gbps": 40, "gflops": 20, "atomics": 7)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("label": "tile=\"512\"")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("saves_ms": 20})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("peaks": {"device": "test CPU", "bandwidth_gbps": 40)"), std::string::npos) << json;
}

TEST(FormatCsv, OneRowPerConfigAndPhaseWithTwelveFieldsThenCountersAndEstimate) {
  const std::string csv = format_csv(known_report());
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "label,config,total_ms,saves_ms,phase,ms,share,bytes,flops,gbps,gflops,atomics,global_load_requests,"
            "global_load_sectors,global_store_requests,global_store_sectors,global_unique_sectors,shared_requests,"
            "shared_bank_conflicts,atomic_requests,atomic_conflicts,atomic_sectors,mma_ops,flops,barriers,"
            "counters_source,estimate_ms,estimate_limit");
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    if (line.rfind("\"tile=", 0) == 0) {
      EXPECT_EQ(line.rfind("\"tile=\"\"512\"\"\",", 0), 0u) << "quotes doubled inside a quoted field: " << line;
      continue;
    }
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 27) << line;  // empty counter and estimate cells
  }
  EXPECT_EQ(rows, 6);  // 2 configs x 3 phases
}

// A report with counters on its first phase and an H100 SXM estimate. Expected values from the model's
// definition (roofline.h) and the datasheet numbers: 3350 GB/s DRAM, L2 5120 B/clk x 1980 MHz,
// 66.9 TFLOP/s FP32, 494.7 TFLOP/s tf32 tensor (the problem is f32).
ProfileReport counted_report() {
  ProfileReport r = known_report();
  r.counted = true;
  r.gpu = gpu_spec("h100-sxm");
  detail::PhaseStats& p = r.chosen.phases[0];  // col2im_coord: 1e9 FLOPs
  p.counted_launches = 1;
  p.counters.global_load_requests = 1000;
  p.counters.global_load_sectors = 6000;
  p.counters.global_store_requests = 500;
  p.counters.global_store_sectors = 2000;
  p.counters.atomic_sectors = 2000;
  p.counters.global_unique_sectors = 5000;
  p.counters.flops = 4'000'000'000'000ull;  // tensor FLOPs beyond the phase's own count: core FLOPs 0
  return r;
}

TEST(Roofline, TakesTheLargestOfDramL2AndComputeTimes) {
  const ProfileReport r = counted_report();
  const auto e = estimate_phase(r.chosen.phases[0], *r.gpu, DType::f32);
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(e->dram_ms, 5000 * 32 / 3350e9 * 1e3, 1e-12);
  EXPECT_NEAR(e->l2_ms, 10000 * 32 / (5120 * 1980e6) * 1e3, 1e-12);
  EXPECT_NEAR(e->compute_ms, 4e12 / 494.7e12 * 1e3, 1e-9);
  EXPECT_EQ(e->limit, "compute");
  EXPECT_DOUBLE_EQ(e->ms, e->compute_ms);
  detail::PhaseStats memory_bound = r.chosen.phases[0];
  memory_bound.counters.flops = 0;
  memory_bound.flops = 0;
  const auto m = estimate_phase(memory_bound, *r.gpu, DType::f32);
  EXPECT_EQ(m->limit, "dram");
  EXPECT_FALSE(estimate_phase(r.chosen.phases[1], *r.gpu, DType::f32)) << "no counters, no estimate";
}

TEST(Roofline, UnknownGpuNamesTheKnownOnes) {
  try {
    gpu_spec("v100");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("h100-sxm, h100-pcie, a100-sxm, l40s, rtx4090"), std::string::npos)
        << e.what();
  }
}

TEST(FormatJson, CarriesCountersUnderTheirNamesAndTheEstimate) {
  const std::string json = format_json(counted_report());
  EXPECT_NE(json.find("\"counted\": true"), std::string::npos);
  EXPECT_NE(json.find("\"counters\": {\"global_load_requests\": 1000, \"global_load_sectors\": 6000, "
                      "\"global_store_requests\": 500, \"global_store_sectors\": 2000, \"global_unique_sectors\": 5000, "
                      "\"shared_requests\": 0, \"shared_bank_conflicts\": 0, \"atomic_requests\": 0, "
                      "\"atomic_conflicts\": 0, \"atomic_sectors\": 2000, \"mma_ops\": 0, \"flops\": 4000000000000, "
                      "\"barriers\": 0}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"counters_source\": \"simulated\""), std::string::npos);
  EXPECT_NE(json.find("\"estimate_limit\": \"compute\""), std::string::npos);
  EXPECT_NE(json.find("\"estimate_ms\": "), std::string::npos);
  EXPECT_NE(json.find("\"gpu\": {\"name\": \"h100-sxm\""), std::string::npos);
}

TEST(FormatTable, ShowsCountersAndLabelsTheEstimate) {
  const std::string table = format_table(counted_report());
  EXPECT_NE(table.find("GPU counters per phase"), std::string::npos) << table;
  EXPECT_NE(table.find("estimate on h100-sxm"), std::string::npos) << table;
  EXPECT_NE(table.find("not a measurement"), std::string::npos) << table;
}

TEST(FormatSvg, ShowsCountersAndEstimateBars) {
  const std::string svg = format_svg(counted_report());
  EXPECT_NE(svg.find("GPU counters of the chosen config"), std::string::npos);
  EXPECT_NE(svg.find("estimate on h100-sxm"), std::string::npos);
  EXPECT_NE(svg.find("loads 1000 req (6.00 sectors/req)"), std::string::npos);
}

TEST(FormatTable, RanksAlternativesAndShowsSavings) {
  const std::string table = format_table(known_report());
  EXPECT_NE(table.find("col2im_coord"), std::string::npos);
  EXPECT_NE(table.find("+20.000"), std::string::npos) << table;
  EXPECT_EQ(table.find("warning"), std::string::npos) << "10% unattributed is under the 15% warning line";
}

TEST(FormatTable, WarnsWhenMuchTimeIsUnattributed) {
  ProfileReport r = known_report();
  r.chosen.phases = {phase("im2col", 50, 0, 0), phase(kOtherPhase, 50, 0, 0)};
  EXPECT_NE(format_table(r).find("warning: 50.0%"), std::string::npos);
}

TEST(FormatTable, ShowsTheArithmeticCeilingAndThePassesFloorUnderIt) {
  ProfileReport r = known_report();
  EXPECT_EQ(format_table(r).find("ceiling:"), std::string::npos) << "no ceiling measured, none shown";
  r.peaks.ceiling_gflops = 200;
  r.peaks.ceiling_method = "f32 FMA chains";
  // 1e9 + 5e9 FLOPs at 200 GFLOP/s: 30 ms of the chosen config's 100.
  const std::string table = format_table(r);
  EXPECT_NE(table.find("ceiling: 200.0 GFLOP/s (f32 FMA chains)"), std::string::npos) << table;
  EXPECT_NE(table.find("the pass's FLOPs at the ceiling: 30.000 ms (30% of its total)"), std::string::npos) << table;
  const std::string json = format_json(r);
  EXPECT_NE(json.find(R"("ceiling_gflops": 200, "ceiling_method": "f32 FMA chains", "floor_ms": 30,)"),
            std::string::npos)
      << json;
}

TEST(NiceTickStep, RoundSteps) {
  EXPECT_DOUBLE_EQ(nice_tick_step(0.66, 6), 0.2);
  EXPECT_DOUBLE_EQ(nice_tick_step(100, 5), 20);
  EXPECT_DOUBLE_EQ(nice_tick_step(1650, 6), 500);
  EXPECT_DOUBLE_EQ(nice_tick_step(0, 6), 1) << "an all-zero chart still gets an axis";
}

TEST(FormatSvg, OneSegmentPerTimedPhaseLegendAndEscapedLabels) {
  const std::string svg = format_svg(known_report());
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  std::size_t segments = 0;
  for (std::size_t at = svg.find("<title>"); at != std::string::npos; at = svg.find("<title>", at + 1)) ++segments;
  EXPECT_EQ(segments, 6u);
  EXPECT_NE(svg.find("tile=&quot;512&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("tile=\"512\""), std::string::npos) << "raw quotes would break the XML";
  EXPECT_NE(svg.find(">gemm_weight</text>"), std::string::npos) << "legend entry";
  EXPECT_NE(svg.find("80.00 ms (-20.0%)"), std::string::npos) << "the alternative's total and change";
}

TEST(XmlEscape, AllFiveEntities) { EXPECT_EQ(xml_escape("<a & 'b' \"c\">"), "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"); }

}  // namespace
}  // namespace dcnjit::profile
