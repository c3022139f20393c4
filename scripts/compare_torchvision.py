#!/usr/bin/env python3
"""Times torchvision.ops.deform_conv2d and dcnjit side by side, in one run, on the same inputs.

For each problem this script
  1. writes random non-zero inputs (x, offset, mask, weight, bias, grad_y) as .npy files to a temp dir,
  2. checks that dcnjit agrees with torchvision on them (`dcnjit run --backward`, compared with
     torchvision in float64: relative L2 error of y and of every gradient),
  3. for each thread count: times torchvision (torch.set_num_threads(n), and OpenBLAS's own thread count
     pinned to n: torch does not pass its count on to the system BLAS) and `dcnjit bench --in DIR
     --threads n --json` on those same files, and a dense torch conv2d of the same shape as the
     practical floor (a deformable convolution does the same GEMMs plus the sampling),
  4. prints (and with --out writes) a markdown table.

What each pass measures (the same for both libraries):
  forward    the forward call alone (torch.no_grad for torchvision).
  backward   the backward call alone: all gradients (x, offset, mask, weight, bias) from grad_y. For
             torchvision that is the autograd backward of a forward recorded with grad enabled; the
             forward is not counted.
  fwd+bwd    a training step's cost: torchvision's forward with grad enabled plus its autograd backward,
             against dcnjit's forward plus its backward call (dcnjit needs no saved state between them).
Times are medians of --repeats runs after warm-up; with --rounds R the two libraries alternate R times and
the median of the round medians is reported (robust against load from other processes).

Usage (CPU here; CUDA on a GPU machine):
  /usr/bin/python3 scripts/compare_torchvision.py --threads 1,2 --out docs/compare_cpu.md
  python3 scripts/compare_torchvision.py --device cuda --dcnjit build/bin/dcnjit
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision
from torchvision.ops import deform_conv2d

DEFAULT_PROBLEM = "N1 C256 H50 W76 Co256 k3 p1 mask"  # the DCNv2 ResNet-50 stage-4 layer
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------- problems

def parse_problem(text):
    """The fields of dcnjit's Problem syntax that this script needs: N C H W Co k s p d g og mask bias."""
    p = {"N": 1, "C": 1, "H": 1, "W": 1, "Co": 1, "kh": 3, "kw": 3, "sh": 1, "sw": 1, "ph": 0, "pw": 0,
         "dh": 1, "dw": 1, "g": 1, "og": 1, "mask": False, "bias": False}

    def pair(value):
        a, _, b = value.partition("x")
        return int(a), int(b or a)

    for token in text.split():
        if token in ("mask", "nomask", "bias", "nobias"):
            p[token.removeprefix("no")] = not token.startswith("no")
            continue
        m = re.fullmatch(r"(Co|og|N|C|H|W|k|s|p|d|g)(\d+(?:x\d+)?)", token)
        if not m:
            if token in ("v2", "f32"):
                continue
            sys.exit(f"error: problem token '{token}' is not understood (or not supported by this script)")
        key, value = m.groups()
        if key == "k":
            p["kh"], p["kw"] = pair(value)
        elif key in ("s", "p", "d"):
            p[key + "h"], p[key + "w"] = pair(value)
        else:
            p[key] = int(value)
    p["Ho"] = (p["H"] + 2 * p["ph"] - (p["dh"] * (p["kh"] - 1) + 1)) // p["sh"] + 1
    p["Wo"] = (p["W"] + 2 * p["pw"] - (p["dw"] * (p["kw"] - 1) + 1)) // p["sw"] + 1
    return p


def make_inputs(p, seed=1):
    """Random non-zero float32 inputs, the distribution dcnjit's own benchmarks use (tools/profile/workload.cpp)."""
    rng = np.random.default_rng(seed)
    taps = p["kh"] * p["kw"]

    def uniform(shape, lo, hi):
        return rng.uniform(lo, hi, size=shape).astype(np.float32)

    scale = 1.0 / np.sqrt(p["C"] // p["g"] * taps)
    arrays = {
        "x": uniform((p["N"], p["C"], p["H"], p["W"]), -1, 1),
        "offset": uniform((p["N"], 2 * p["og"] * taps, p["Ho"], p["Wo"]), -2, 2),
        "weight": uniform((p["Co"], p["C"] // p["g"], p["kh"], p["kw"]), -scale, scale),
        "grad_y": uniform((p["N"], p["Co"], p["Ho"], p["Wo"]), -1, 1),
    }
    if p["mask"]:
        arrays["mask"] = uniform((p["N"], p["og"] * taps, p["Ho"], p["Wo"]), 0.05, 1)
    if p["bias"]:
        arrays["bias"] = uniform((p["Co"],), -0.5, 0.5)
    return arrays


def problem_flags(p):
    return ["--stride", f"{p['sh']},{p['sw']}", "--pad", f"{p['ph']},{p['pw']}",
            "--dilation", f"{p['dh']},{p['dw']}", "--groups", str(p["g"])]


# ---------------------------------------------------------------------------------------------- torch side

class TorchProblem:
    def __init__(self, p, arrays, device, dtype):
        self.p = p
        self.device = device
        t = lambda name: torch.from_numpy(arrays[name]).to(device=device, dtype=dtype)
        self.x, self.offset, self.weight, self.grad_y = t("x"), t("offset"), t("weight"), t("grad_y")
        self.mask = t("mask") if p["mask"] else None
        self.bias = t("bias") if p["bias"] else None
        self.inputs = [v for v in (self.x, self.offset, self.mask, self.weight, self.bias) if v is not None]

    def sync(self):
        if self.device == "cuda":
            torch.cuda.synchronize()

    def deform(self, x, offset, mask, weight, bias):
        p = self.p
        return deform_conv2d(x, offset, weight, bias, stride=(p["sh"], p["sw"]), padding=(p["ph"], p["pw"]),
                             dilation=(p["dh"], p["dw"]), mask=mask)

    def dense(self, x, weight, bias):
        p = self.p
        return torch.nn.functional.conv2d(x, weight, bias, stride=(p["sh"], p["sw"]), padding=(p["ph"], p["pw"]),
                                          dilation=(p["dh"], p["dw"]), groups=p["g"])

    def _leaves(self, tensors):
        return [v.detach().requires_grad_(True) if v is not None else None for v in tensors]

    def time_passes(self, fn, args, warmup, repeats):
        """Medians (ms) of fn's forward (no grad), its autograd backward alone, and forward(grad)+backward."""
        forward, backward, step = [], [], []
        for i in range(warmup + repeats):
            with torch.no_grad():
                self.sync()
                t0 = time.perf_counter()
                fn(*args)
                self.sync()
                t1 = time.perf_counter()
            leaves = self._leaves(args)
            self.sync()
            t2 = time.perf_counter()
            y = fn(*leaves)
            self.sync()
            t3 = time.perf_counter()
            y.backward(self.grad_y)
            self.sync()
            t4 = time.perf_counter()
            if i >= warmup:
                forward.append((t1 - t0) * 1e3)
                backward.append((t4 - t3) * 1e3)
                step.append((t4 - t2) * 1e3)
        return {"forward": statistics.median(forward), "backward": statistics.median(backward),
                "fwd+bwd": statistics.median(step)}

    def deform_times(self, warmup, repeats):
        return self.time_passes(self.deform, [self.x, self.offset, self.mask, self.weight, self.bias], warmup, repeats)

    def dense_times(self, warmup, repeats):
        return self.time_passes(self.dense, [self.x, self.weight, self.bias], warmup, repeats)


def reference_float64(p, arrays):
    """torchvision in float64 on the CPU: y and every gradient."""
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in arrays.items()}
    leaves = {k: t[k].requires_grad_(True) for k in ("x", "offset", "weight", "mask", "bias") if k in t}
    y = deform_conv2d(leaves["x"], leaves["offset"], leaves["weight"], leaves.get("bias"),
                      stride=(p["sh"], p["sw"]), padding=(p["ph"], p["pw"]), dilation=(p["dh"], p["dw"]),
                      mask=leaves.get("mask"))
    y.backward(t["grad_y"])
    out = {"y": y.detach().numpy()}
    for k, v in leaves.items():
        out["grad_" + k] = v.grad.numpy()
    return out


# ---------------------------------------------------------------------------------------------- dcnjit side

def run_dcnjit(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {binary} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def algorithm_flags(algorithm):
    return ["--algorithm", algorithm] if algorithm else []


def dcnjit_agreement(binary, backend, p, arrays, in_dir, dtype_flag, algorithm=None):
    """Largest relative L2 error of dcnjit's y and gradients against torchvision float64."""
    out_dir = os.path.join(in_dir, "out")
    run_dcnjit(binary, "run", "--in", in_dir, "--out", out_dir, "--backward", "--backend", backend,
               "--dtype", dtype_flag, *algorithm_flags(algorithm), *problem_flags(p))
    reference = reference_float64(p, arrays)
    errors = {}
    for name, expected in reference.items():
        got = np.load(os.path.join(out_dir, name + ".npy")).astype(np.float64)
        errors[name] = float(np.linalg.norm(got - expected) / max(np.linalg.norm(expected), 1e-300))
    return errors


class BlasThreads:
    """The thread count of the BLAS torch calls for its GEMMs.

    torch.set_num_threads does not reach it: Debian's torch is built with BLAS_INFO=generic and calls the
    system libblas.so.3 (OpenBLAS, with threads of its own), so a "one-thread" torchvision run would
    still do its GEMMs on every core. OpenBLAS is pinned through its own API instead, in this process.
    """

    def __init__(self):
        import ctypes
        self.lib, self.why, self.read_back = None, "", []
        for name in ("libblas.so.3", "libopenblas.so.0"):
            try:
                lib = ctypes.CDLL(name)
            except OSError as e:
                self.why = str(e)
                continue
            if hasattr(lib, "openblas_set_num_threads") and hasattr(lib, "openblas_get_num_threads"):
                self.lib, self.name = lib, name
                return
            self.why = f"{name} is not OpenBLAS (no openblas_set_num_threads)"

    def set(self, threads):
        """Pins OpenBLAS to `threads` and remembers what it reports back."""
        if self.lib:
            self.lib.openblas_set_num_threads(threads)
            self.read_back.append(self.lib.openblas_get_num_threads())

    def describe(self):
        if not self.lib:
            return f"torchvision's BLAS threads NOT pinned ({self.why})"
        counts = ", ".join(str(n) for n in self.read_back)
        return f"torchvision's OpenBLAS ({self.name}) pinned to each row's count (openblas_get_num_threads read back: {counts})"


def dcnjit_times(binary, backend, in_dir, p, threads, dtype_flag, warmup, repeats, algorithm=None):
    args = ["bench", "--in", in_dir, "--backend", backend, "--json", "--repeats", str(repeats),
            "--warmup", str(warmup), "--dtype", dtype_flag, *algorithm_flags(algorithm), *problem_flags(p)]
    if threads:
        args += ["--threads", str(threads)]
    result = json.loads(run_dcnjit(binary, *args))
    return {"forward": result["forward_ms"], "backward": result["backward_ms"],
            "fwd+bwd": result["forward_ms"] + result["backward_ms"], "config": result["config"]}


# ---------------------------------------------------------------------------------------------- report

def machine_description(device):
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def ms(value):
    """Three significant figures: 1650, 234, 81.2, 0.318."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--problem", action="append", help=f"dcnjit problem syntax (default: '{DEFAULT_PROBLEM}')")
    ap.add_argument("--threads", default="1,2", help="CPU thread counts, comma-separated (cpu only; default 1,2)")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32", help="f16 needs --device cuda")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1, help="alternate the libraries this many times (median)")
    ap.add_argument("--dcnjit", default=os.path.join(REPO, "build", "bin", "dcnjit"))
    ap.add_argument("--out", help="also write the markdown table to this file")
    ap.add_argument("--algorithm", default=None,
                    help="dcnjit's algorithm (im2col, fused; default: the one dcnjit plans)")
    ap.add_argument("--tolerance", type=float, default=None,
                    help="largest relative L2 error accepted vs torchvision float64 (default 1e-4 f32, 1e-2 f16)")
    args = ap.parse_args()

    if args.dtype == "f16" and args.device != "cuda":
        sys.exit("error: --dtype f16: torchvision's CPU deform_conv2d has no half kernels; use --device cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda: torch sees no GPU")
    if not os.access(args.dcnjit, os.X_OK):
        sys.exit(f"error: --dcnjit {args.dcnjit} is not an executable (build it: scripts/build.sh)")
    # f32: both sides round the same float64 sums differently; 1e-4 leaves room for K = C*kh*kw = 2304-term
    # sums and for torchvision's own float32 error. f16 keeps ~3 decimal digits.
    tolerance = args.tolerance or (1e-4 if args.dtype == "f32" else 1e-2)
    torch_dtype = torch.float32 if args.dtype == "f32" else torch.float16
    thread_counts = [int(t) for t in args.threads.split(",")] if args.device == "cpu" else [0]
    backend = "cpu" if args.device == "cpu" else "cuda"

    blas_threads = BlasThreads()
    load_before = os.getloadavg()  # other processes' load: the reader's measure of how noisy the numbers are
    rows, notes, failed = [], [], False
    for text in args.problem or [DEFAULT_PROBLEM]:
        p = parse_problem(text)
        arrays = make_inputs(p)
        with tempfile.TemporaryDirectory(prefix="dcnjit-compare-") as in_dir:
            for name, array in arrays.items():
                np.save(os.path.join(in_dir, name + ".npy"), array)
            errors = dcnjit_agreement(args.dcnjit, backend, p, arrays, in_dir, args.dtype, args.algorithm)
            worst = max(errors, key=errors.get)
            ok = errors[worst] <= tolerance
            failed |= not ok
            notes.append(f"- `{text}`: dcnjit vs torchvision float64, largest relative L2 error {errors[worst]:.2e} "
                         f"({worst}; tolerance {tolerance:g}): {'agree' if ok else 'DISAGREE'}")

            tp = TorchProblem(p, arrays, args.device, torch_dtype)
            for threads in thread_counts:
                if threads:
                    torch.set_num_threads(threads)
                    blas_threads.set(threads)
                rounds = {"tv": [], "dcnjit": [], "dense": []}
                config = ""
                for _ in range(args.rounds):
                    rounds["tv"].append(tp.deform_times(args.warmup, args.repeats))
                    d = dcnjit_times(args.dcnjit, backend, in_dir, p, threads, args.dtype, args.warmup, args.repeats,
                                     args.algorithm)
                    config = d.pop("config")
                    rounds["dcnjit"].append(d)
                    rounds["dense"].append(tp.dense_times(args.warmup, args.repeats))
                for pass_name in ("forward", "backward", "fwd+bwd"):
                    med = {k: statistics.median(r[pass_name] for r in v) for k, v in rounds.items()}
                    rows.append((text, args.dtype, threads or "-", pass_name, med["tv"], med["dcnjit"],
                                 med["tv"] / med["dcnjit"], med["dense"]))
                notes.append(f"- `{text}`, {threads or 'GPU'} thread(s): dcnjit config `{config}`")

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = shlex.join([sys.executable, os.path.relpath(__file__, REPO), *sys.argv[1:]])
    lines = [
        f"Machine: {machine_description(args.device)}; {platform.platform()}; torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}; {stamp}; load average (1/5/15 min) before: "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"Command: `{command}`",
        f"Threads: torch.set_num_threads(n) and {blas_threads.describe() if args.device == 'cpu' else 'GPU'}; "
        "dcnjit `--threads n`.",
        f"Medians of {args.repeats} runs after {args.warmup} warm-up, {args.rounds} round(s). backward = the backward "
        "call alone (all gradients), fwd+bwd = a training step (torchvision forward with grad + autograd backward).",
        "",
        "| problem | dtype | threads | pass | torchvision ms | dcnjit ms | speedup | dense conv ms |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for problem, dtype, threads, pass_name, tv, dj, speedup, dense in rows:
        lines.append(f"| {problem} | {dtype} | {threads} | {pass_name} | {ms(tv)} | {ms(dj)} | {speedup:.2f}x | "
                     f"{ms(dense)} |")
    lines += [""] + notes
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
