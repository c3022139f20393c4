#!/usr/bin/env python3
"""Loads in flight in SASS: walking the instructions in order, global loads (LDG, and generic LD) are
outstanding until an instruction reads a register one of them writes; the number outstanding at that
read is the loads a warp has in flight before it must wait. Prints the largest and the median over the
kernel's wait points, and the load count. A static count over the instruction order (branches are
not followed), for comparing two builds of one kernel, not a measurement.

Usage: scripts/sass_loads_in_flight.py KERNEL.cubin... (cuobjdump from PyPI's nvidia-cuda-cuobjdump; set
CUOBJDUMP to its path when it is not on PATH). docs/perf.md shows how the cubins were made."""
import os
import re
import statistics
import subprocess
import sys

CUOBJDUMP = os.environ.get("CUOBJDUMP", "cuobjdump")


def regs(operand, width):
    m = re.match(r"R(\d+)", operand.strip())
    if not m: return set()
    base = int(m.group(1))
    return {base + i for i in range(width)}
def analyze(cubin):
    sass = subprocess.run([CUOBJDUMP, "-sass", cubin], capture_output=True, text=True).stdout
    pending, waits, loads = {}, [], 0
    for line in sass.splitlines():
        m = re.match(r"\s*/\*[0-9a-f]+\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)\s*(.*?);", line)
        if not m: continue
        op, args = m.group(2), m.group(3)
        operands = [a.strip() for a in args.split(",")]
        sources = " ".join(operands[1:]) if not op.startswith(("ST", "RED", "ATOM")) else " ".join(operands)
        read = {int(r) for r in re.findall(r"\bR(\d+)\b", sources)}
        if pending and read & set().union(*pending.values()):
            waits.append(len(pending))
            pending.clear()
        if op.startswith("LDG") or re.match(r"LD\.E", op) or op == "LD":
            width = 4 if ".128" in op else 2 if ".64" in op else 1
            pending[len(pending)] = regs(operands[0], width)
            loads += 1
    return loads, (max(waits) if waits else 0), (statistics.median(waits) if waits else 0)
for cubin in sys.argv[1:]:
    loads, most, median = analyze(cubin)
    print(f"{cubin}: {loads} loads, at most {most} in flight, median {median} at a wait")
