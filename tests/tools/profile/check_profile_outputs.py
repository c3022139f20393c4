#!/usr/bin/env python3
"""End-to-end check of `dcnjit profile` and `dcnjit bench` output on a tiny problem (ctest, label profile).

Usage: check_profile_outputs.py DCNJIT_BINARY WORK_DIR

The JSON and CSV must parse; in each config the phases (which include "other") must add up to the total,
and the backend's own phases to within 15% of it; the SVG must be well-formed XML; bench --json
must carry forward_ms and backward_ms. On the sim backend with --gpu, every backend phase must carry the GPU
counters under their documented names, an estimate and its limit, in JSON, CSV, table and SVG, each labelled
"estimate". Uses only the standard library (xmllint too when installed).
"""
import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

# Big enough (about 2 ms per backward on one core) that dispatch overhead outside the phases stays far below 15%.
PROBLEM = "N2 C32 H24 W24 Co32 k3x3 p1x1 mask bias"
# The sim compiles every kernel (and its counting variant) with the host compiler: keep it tiny.
SIM_PROBLEM = "N1 C8 H8 W8 Co8 k3x3 p1x1 mask"
COUNTER_NAMES = ["global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
                 "global_unique_sectors", "shared_requests", "shared_bank_conflicts", "atomic_requests",
                 "atomic_conflicts", "atomic_sectors", "mma_ops", "flops", "barriers"]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run(binary, *args, env=None):
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300, env=env)
    if result.returncode != 0:
        sys.exit(f"FAIL: dcnjit {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def check_sums(label, total, phases):
    names = [p["name"] for p in phases]
    check(names and names[-1] == "other", f"{label}: the last phase is {names[-1:]} (expected 'other')")
    everything = sum(p["ms"] for p in phases)
    # phases + "other" == total, up to the 9 significant digits the output carries.
    check(math.isclose(everything, total, rel_tol=1e-6, abs_tol=1e-9),
          f"{label}: phases incl. other sum to {everything} ms, total is {total} ms")
    attributed = sum(p["ms"] for p in phases if p["name"] != "other")
    check(abs(attributed - total) <= 0.15 * total,
          f"{label}: backend phases sum to {attributed} ms, more than 15% off the total {total} ms")


def check_svg(path):
    try:
        ET.parse(path)
    except ET.ParseError as error:
        failures.append(f"{path} is not well-formed XML: {error}")
    if shutil.which("xmllint"):
        lint = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
        check(lint.returncode == 0, f"xmllint rejects {path}: {lint.stderr.strip()}")


def check_sim_counters(binary, work):
    # The sim's caches in the work directory, not the user's.
    env = dict(os.environ, DCNJIT_CACHE=os.path.join(work, "cache.sqlite"),
               DCNJIT_SIM_WORK_DIR=os.path.join(work, "sim"))
    common = ["--backend", "sim", "--problem", SIM_PROBLEM, "--repeats", "1", "--no-alternatives", "--gpu", "h100-sxm"]
    svg_path = os.path.join(work, "profile_sim.svg")
    report = json.loads(run(binary, "profile", "--backward", *common, "--json", "--svg", svg_path, env=env))
    check(report.get("counted") is True, "sim profile --json: counted is not true")
    check("estimate" in report.get("gpu", {}).get("model", ""), "sim profile --json: gpu.model does not say estimate")
    check_sums("sim chosen", report["total_ms"], report["phases"])
    for phase in report["phases"]:
        if phase["name"] == "other":
            continue
        counters = phase.get("counters")
        check(counters is not None and sorted(counters) == sorted(COUNTER_NAMES),
              f"sim phase {phase['name']}: counters {sorted(counters or {})}")
        check(phase.get("counters_source") in ("simulated", "gemm model", "simulated+gemm model"),
              f"sim phase {phase['name']}: counters_source {phase.get('counters_source')}")
        check(phase.get("estimate_ms", 0) > 0 and phase.get("estimate_limit") in ("dram", "l2", "compute"),
              f"sim phase {phase['name']}: estimate {phase.get('estimate_ms')} / {phase.get('estimate_limit')}")
    sampling = [p for p in report["phases"] if p.get("counters_source") == "simulated"]
    check(sampling and all(p["counters"]["global_load_requests"] > 0 for p in sampling),
          "sim profile: no simulated phase counted a global load")
    check_svg(svg_path)
    with open(svg_path) as svg:
        check("estimate" in svg.read(), "sim profile SVG does not label the estimate")

    rows = list(csv.DictReader(io.StringIO(run(binary, "profile", "--forward", *common, "--csv", env=env))))
    for row in rows:
        for name in COUNTER_NAMES + ["counters_source", "estimate_ms", "estimate_limit"]:
            check(name in row, f"sim profile --csv lacks column {name}")
        if row["phase"] != "other":
            check(row["estimate_ms"] != "" and row["global_load_requests"] != "",
                  f"sim profile --csv: phase {row['phase']} has no counters or estimate")
    table = run(binary, "profile", "--forward", *common, env=env)
    check("GPU counters per phase" in table and "estimate on h100-sxm" in table,
          "sim profile table lacks the counters or the estimate")


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    svg_path = os.path.join(work, "profile.svg")
    common = ["--problem", PROBLEM, "--threads", "1", "--repeats", "3"]

    report = json.loads(run(binary, "profile", "--backward", *common, "--json", "--svg", svg_path))
    for key in ("total_ms", "phases", "alternatives", "peaks"):
        check(key in report, f"profile --json lacks '{key}'")
    for phase in report["phases"]:
        for key in ("name", "ms", "share", "bytes", "flops", "gbps", "gflops", "atomics"):
            check(key in phase, f"phase {phase.get('name')} lacks '{key}'")
    check_sums("chosen", report["total_ms"], report["phases"])
    check(len(report["alternatives"]) > 0, "no alternatives were compared")
    for alt in report["alternatives"]:
        check_sums(alt["config"], alt["total_ms"], alt["phases"])
        check(math.isclose(alt["saves_ms"], report["total_ms"] - alt["total_ms"], rel_tol=1e-6, abs_tol=1e-9),
              f"{alt['config']}: saves_ms is not chosen total - its total")
    check(report["peaks"]["bandwidth_gbps"] > 0 and report["peaks"]["gemm_gflops"] > 0, "cpu peaks not measured")

    rows = list(csv.DictReader(io.StringIO(run(binary, "profile", "--forward", *common, "--csv"))))
    check(len(rows) > 0, "profile --csv printed no rows")
    by_config = {}
    for row in rows:
        by_config.setdefault(row["config"], (float(row["total_ms"]), []))[1].append(
            {"name": row["phase"], "ms": float(row["ms"])})
    for config, (total, phases) in by_config.items():
        check_sums("csv " + config, total, phases)

    check_svg(svg_path)

    check_sim_counters(binary, work)

    bench = json.loads(run(binary, "bench", *common, "--json"))
    check(bench.get("forward_ms", 0) > 0 and bench.get("backward_ms", 0) > 0, f"bench --json: {bench}")

    for failure in failures:
        print("FAIL:", failure)
    if failures:
        sys.exit(1)
    print(f"ok: profile JSON/CSV parse and add up, SVG well-formed, bench JSON has both passes ({PROBLEM})")


if __name__ == "__main__":
    main()
