#!/usr/bin/env python3
"""End-to-end check of `dcnjit profile` and `dcnjit bench` output on a tiny problem (ctest, label profile).

Usage: check_profile_outputs.py DCNJIT_BINARY WORK_DIR

The JSON and CSV must parse; in each config the phases (which include "other") must add up to the total,
and the backend's own phases to within 15% of it; the SVG must be well-formed XML; bench --json
must carry forward_ms and backward_ms. Uses only the standard library (xmllint too when installed).
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
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)
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

    try:
        ET.parse(svg_path)
    except ET.ParseError as error:
        failures.append(f"{svg_path} is not well-formed XML: {error}")
    if shutil.which("xmllint"):
        lint = subprocess.run(["xmllint", "--noout", svg_path], capture_output=True, text=True)
        check(lint.returncode == 0, f"xmllint rejects {svg_path}: {lint.stderr.strip()}")

    bench = json.loads(run(binary, "bench", *common, "--json"))
    check(bench.get("forward_ms", 0) > 0 and bench.get("backward_ms", 0) > 0, f"bench --json: {bench}")

    for failure in failures:
        print("FAIL:", failure)
    if failures:
        sys.exit(1)
    print(f"ok: profile JSON/CSV parse and add up, SVG well-formed, bench JSON has both passes ({PROBLEM})")


if __name__ == "__main__":
    main()
