#!/usr/bin/env python3
"""Times dcnjit's cpu backend against the strongest CPU peers, side by side in one run, on the same inputs.

Peers (installed from PyPI into a virtual environment this script creates, see --venv):
  OpenVINO      DeformableConvolution (opset 8, bilinear_interpolation_pad=True: DCNv2/torchvision border),
                bias added by an Add node; INFERENCE_PRECISION_HINT f32 (and bf16, reported separately:
                OpenVINO's own low-precision mode on CPUs with AVX512-BF16).
  ONNX Runtime  DeformConv (ai.onnx opset 19) with its B (bias) and mask inputs, CPU execution provider.
  dcnjit        the built CLI, `dcnjit bench --pass forward --json --in DIR --threads n --dtype f32|bf16`.

For each problem (default: the three DCNv2 ResNet-50 layers, N=1, 3x3, pad 1, mask and bias) this script
  1. writes random non-zero float32 inputs as .npy files to a temp dir (the distribution of
     scripts/compare_torchvision.py),
  2. checks that the outputs agree: dcnjit f32 (`dcnjit run`) against OpenVINO f32 and ONNX Runtime
     (relative L2), dcnjit bf16 against OpenVINO f32 (bf16 rounds inputs to 8 significant bits),
  3. for each thread count times every implementation round-robin: in each of --rounds rounds every
     implementation runs --warmup untimed and --repeats timed forward calls and contributes the median;
     the order rotates from round to round, so load from other processes falls on all alike. The
     table reports the median of the round medians and, in brackets, their spread (min-max),
  4. prints (and with --out writes) markdown tables: per problem the implementations by thread count,
     and the ratios against the targets.

Only the forward pass is compared: OpenVINO and ONNX Runtime have no backward. The backward is compared
with torchvision by scripts/compare_torchvision.py.

Usage:
  python3 scripts/compare_cpu_peers.py --threads 1,2 --rounds 5 --out /tmp/peers.md
  python3 scripts/compare_cpu_peers.py --problem "N1 C256 H50 W76 Co256 k3 p1 mask bias" --rounds 3
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VENV = os.path.join(REPO, "build", "peers-venv")
# The versions these notes were measured with (docs/perf.md); --upgrade-peers takes the newest instead.
PEER_PACKAGES = ["openvino==2026.4.1", "onnxruntime==1.32.0", "onnx==1.23.2", "numpy"]
# The DCNv2 ResNet-50 3x3 layers (tuner preset dcnv2-r50, at batch 1, with bias).
DEFAULT_PROBLEMS = [
    "N1 C128 H100 W152 Co128 k3 p1 mask bias",
    "N1 C256 H50 W76 Co256 k3 p1 mask bias",
    "N1 C512 H25 W38 Co512 k3 p1 mask bias",
]


# ---------------------------------------------------------------------------------------------- venv

def in_venv(venv):
    return os.path.realpath(sys.prefix) == os.path.realpath(venv)


def ensure_venv_and_reexec(venv, upgrade):
    """Creates `venv` with the peers installed (python3 -m venv + pip) and re-runs this script in it."""
    python = os.path.join(venv, "bin", "python")
    marker = os.path.join(venv, ".dcnjit-peers-installed")
    if not os.path.exists(marker) or upgrade:
        if not os.path.exists(python):
            print(f"compare_cpu_peers: creating the virtual environment {venv}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        packages = [p.split("==")[0] for p in PEER_PACKAGES] if upgrade else PEER_PACKAGES
        print(f"compare_cpu_peers: pip install {' '.join(packages)}", file=sys.stderr)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", *packages], check=True)
        with open(marker, "w") as f:
            f.write("\n".join(packages) + "\n")
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


# ---------------------------------------------------------------------------------------------- problems

def parse_problem(text):
    """The fields of dcnjit's Problem syntax this script needs: N C H W Co k s p d g og mask bias."""
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


def short_name(p):
    return f"C{p['C']} {p['H']}x{p['W']}"


def make_inputs(np, p, seed=1):
    """Random non-zero float32 inputs (as scripts/compare_torchvision.py: offsets in (-2, 2), mask in (0.05, 1))."""
    rng = np.random.default_rng(seed)
    taps = p["kh"] * p["kw"]

    def uniform(shape, lo, hi):
        return rng.uniform(lo, hi, size=shape).astype(np.float32)

    scale = 1.0 / np.sqrt(p["C"] // p["g"] * taps)
    arrays = {
        "x": uniform((p["N"], p["C"], p["H"], p["W"]), -1, 1),
        "offset": uniform((p["N"], 2 * p["og"] * taps, p["Ho"], p["Wo"]), -2, 2),
        "weight": uniform((p["Co"], p["C"] // p["g"], p["kh"], p["kw"]), -scale, scale),
    }
    arrays["mask"] = uniform((p["N"], p["og"] * taps, p["Ho"], p["Wo"]), 0.05, 1) if p["mask"] else None
    arrays["bias"] = uniform((p["Co"],), -0.5, 0.5) if p["bias"] else None
    return arrays


def problem_flags(p):
    return ["--stride", f"{p['sh']},{p['sw']}", "--pad", f"{p['ph']},{p['pw']}",
            "--dilation", f"{p['dh']},{p['dw']}", "--groups", str(p["g"])]


# ---------------------------------------------------------------------------------------------- peers

class OpenVino:
    """DeformableConvolution-8 (+ Add for the bias) compiled for the CPU plugin with a fixed thread count."""

    def __init__(self, np, p, arrays, threads, precision):
        import openvino as ov
        import openvino.opset8 as ops
        self.np = np
        names = ["x", "offset"] + (["mask"] if p["mask"] else [])
        params = {n: ops.parameter(arrays[n].shape, np.float32, name=n) for n in names}
        conv = ops.deformable_convolution(
            params["x"], params["offset"], ops.constant(arrays["weight"]), strides=[p["sh"], p["sw"]],
            pads_begin=[p["ph"], p["pw"]], pads_end=[p["ph"], p["pw"]], dilations=[p["dh"], p["dw"]],
            mask=params.get("mask"), group=p["g"], deformable_group=p["og"], bilinear_interpolation_pad=True)
        out = conv
        if p["bias"]:
            out = ops.add(conv, ops.constant(arrays["bias"].reshape(1, -1, 1, 1)))
        model = ov.Model([out], [params[n] for n in names], "dcn")
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": precision}
        self.compiled = ov.Core().compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.inputs = {n: arrays[n] for n in names}
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT")

    def run(self):
        self.request.infer(self.inputs)
        return self.np.array(self.request.get_output_tensor(0).data)


class OnnxRuntime:
    """DeformConv (ai.onnx opset 19) with bias and mask inputs on the CPU execution provider."""

    def __init__(self, np, p, arrays, threads):
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
        inputs = ["x", "weight", "offset", "bias" if p["bias"] else "", "mask" if p["mask"] else ""]
        while inputs and not inputs[-1]:
            inputs.pop()
        node = helper.make_node("DeformConv", inputs, ["y"], dilations=[p["dh"], p["dw"]], group=p["g"],
                                kernel_shape=[p["kh"], p["kw"]], offset_group=p["og"],
                                pads=[p["ph"], p["pw"], p["ph"], p["pw"]], strides=[p["sh"], p["sw"]])
        feeds = ["x", "offset"] + (["mask"] if p["mask"] else [])
        graph = helper.make_graph(
            [node], "dcn",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, arrays[n].shape) for n in feeds],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=[numpy_helper.from_array(arrays[n], n) for n in ("weight", "bias") if arrays[n] is not None])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # ORT's idle intra-op threads spin by default; in this process they would keep a core busy while
        # the next implementation of the round runs (dcnjit's 2-thread medians came out bimodal, at its
        # 1-thread time, until this was off). dcnjit's and OpenVINO's pools block when idle.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.feeds = {n: arrays[n] for n in feeds}

    def run(self):
        return self.session.run(None, self.feeds)[0]


def timed_runs(fn, warmup, repeats):
    """(median wall ms, process CPU ms per call) of `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    cpu0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), (time.process_time() - cpu0) * 1e3 / repeats


# ---------------------------------------------------------------------------------------------- dcnjit

def run_dcnjit(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {binary} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dcnjit_forward(np, binary, p, in_dir, dtype, threads):
    out_dir = os.path.join(in_dir, f"out-{dtype}")
    run_dcnjit(binary, "run", "--in", in_dir, "--out", out_dir, "--backend", "cpu", "--dtype", dtype,
               "--threads", str(threads), *problem_flags(p))
    return np.load(os.path.join(out_dir, "y.npy"))


def dcnjit_bench(binary, p, in_dir, dtype, threads, warmup, repeats):
    """(median forward ms, CPU ms per call, config) from `dcnjit bench` processes.

    The CPU time per call is the difference of two processes' CPU times, one with 3 * `repeats` timed
    calls and one with `repeats`, over 2 * repeats: what starting the process, reading the files and the
    warm-up cost cancels out (up to its own noise, spread over 2 * repeats calls)."""
    def bench(count):
        before = children_cpu_s()
        result = json.loads(run_dcnjit(binary, "bench", "--in", in_dir, "--backend", "cpu", "--pass", "forward",
                                       "--json", "--repeats", str(count), "--warmup", str(warmup), "--dtype", dtype,
                                       "--threads", str(threads), *problem_flags(p)))
        return result, children_cpu_s() - before
    result, cpu = bench(repeats)
    _, cpu_more = bench(3 * repeats)
    return result["forward_ms"], (cpu_more - cpu) * 1e3 / (2 * repeats), result["config"]


# ---------------------------------------------------------------------------------------------- report

def machine_description():
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
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def cell(values):
    """Median of the round medians and their spread."""
    med = statistics.median(values)
    if len(values) == 1:
        return ms(med)
    return f"{ms(med)} ({ms(min(values))}-{ms(max(values))})"


def relative_l2(np, a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problem", action="append", help="dcnjit problem syntax (default: the three R50 layers)")
    ap.add_argument("--threads", default="1,2", help="CPU thread counts, comma-separated (default 1,2)")
    ap.add_argument("--dtypes", default="f32,bf16", help="dcnjit dtypes to time (default f32,bf16)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per implementation and round")
    # 10, not 2: dcnjit runs in a fresh process per measurement, and its first ~20-50 ms on 2 threads can
    # run at the 1-thread speed (bf16 C256 after 2 warm-up calls: 12.4 ms in 1 process of 6 and 6.4-7.7
    # in the others; after 30, 7.2-7.7 in all); the peers' sessions stay warm across rounds.
    ap.add_argument("--warmup", type=int, default=10, help="untimed runs per implementation and round")
    ap.add_argument("--rounds", type=int, default=3, help="round-robin rounds (median and spread reported)")
    ap.add_argument("--no-openvino-bf16", action="store_true", help="skip OpenVINO's bf16 precision hint")
    ap.add_argument("--dcnjit", default=os.path.join(REPO, "build", "bin", "dcnjit"))
    ap.add_argument("--venv", default=DEFAULT_VENV, help=f"virtual environment for the peers (default {DEFAULT_VENV})")
    ap.add_argument("--upgrade-peers", action="store_true", help="install the newest peer versions into --venv")
    ap.add_argument("--out", help="also write the markdown tables to this file")
    args = ap.parse_args()

    if not in_venv(args.venv):
        ensure_venv_and_reexec(args.venv, args.upgrade_peers)
    import numpy as np
    import onnxruntime
    import openvino

    if not os.access(args.dcnjit, os.X_OK):
        sys.exit(f"error: --dcnjit {args.dcnjit} is not an executable (build it: scripts/build.sh)")
    thread_counts = [int(t) for t in args.threads.split(",")]
    dtypes = args.dtypes.split(",")
    for d in dtypes:
        if d not in ("f32", "bf16", "f16"):
            sys.exit(f"error: --dtypes: '{d}' is not f32, bf16 or f16")
    # Agreement bounds (relative L2 of y). f32: both sides sum C*9 = up to 4608 f32 products in different
    # orders (~sqrt(terms) * 6e-8 typical); 1e-4 leaves a wide margin and fails any wrong tap or border.
    # bf16/f16 dcnjit against f32 peers: the inputs are rounded to 8 (11) significant bits (2^-9, 2^-12
    # relative per element, random sign) and bf16 columns once more; 2e-2 (4e-3) bounds that.
    tolerance = {"f32": 1e-4, "bf16": 2e-2, "f16": 4e-3}

    load_before = os.getloadavg()
    started = time.time()
    results, notes, failed = [], [], False
    for text in args.problem or DEFAULT_PROBLEMS:
        p = parse_problem(text)
        arrays = make_inputs(np, p)
        with tempfile.TemporaryDirectory(prefix="dcnjit-peers-") as in_dir:
            for name, array in arrays.items():
                if array is not None:
                    np.save(os.path.join(in_dir, name + ".npy"), array)
            for threads in thread_counts:
                impls = {"OpenVINO f32": OpenVino(np, p, arrays, threads, "f32")}
                if not args.no_openvino_bf16:
                    impls["OpenVINO bf16"] = OpenVino(np, p, arrays, threads, "bf16")
                impls["ONNX Runtime f32"] = OnnxRuntime(np, p, arrays, threads)
                if threads == thread_counts[0]:
                    reference = impls["OpenVINO f32"].run()
                    checks = [("ONNX Runtime f32", impls["ONNX Runtime f32"].run(), "f32")]
                    for d in dtypes:
                        checks.append((f"dcnjit {d}", dcnjit_forward(np, args.dcnjit, p, in_dir, d, threads), d))
                    for name, y, d in checks:
                        err = relative_l2(np, y, reference)
                        ok = err <= tolerance[d]
                        failed |= not ok
                        notes.append(f"- `{text}`: {name} vs OpenVINO f32, relative L2 {err:.1e} "
                                     f"(tolerance {tolerance[d]:g}): {'agree' if ok else 'DISAGREE'}")
                    if "OpenVINO bf16" in impls:
                        notes.append(f"- `{text}`: OpenVINO with hint bf16 runs precision "
                                     f"{impls['OpenVINO bf16'].precision}, relative L2 vs its f32 "
                                     f"{relative_l2(np, impls['OpenVINO bf16'].run(), reference):.1e}")
                names = list(impls) + [f"dcnjit {d}" for d in dtypes]
                times = {n: [] for n in names}
                cpu_times = {n: [] for n in names}
                configs = {}
                for r in range(args.rounds):
                    order = names[r % len(names):] + names[:r % len(names)]
                    for name in order:
                        if name.startswith("dcnjit"):
                            d = name.split()[1]
                            t, c, configs[d] = dcnjit_bench(args.dcnjit, p, in_dir, d, threads, args.warmup,
                                                            args.repeats)
                        else:
                            t, c = timed_runs(impls[name].run, args.warmup, args.repeats)
                        times[name].append(t)
                        cpu_times[name].append(c)
                results.append((text, p, threads, times, cpu_times))
                for d, c in configs.items():
                    notes.append(f"- `{text}`, {threads} thread(s): dcnjit {d} config `{c}`")
                del impls

    elapsed = time.time() - started
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = shlex.join(["python3", os.path.relpath(os.path.abspath(__file__), REPO), *sys.argv[1:]])
    lines = [
        f"Machine: {machine_description()}; {platform.platform()}; OpenVINO {openvino.__version__}, ONNX Runtime "
        f"{onnxruntime.__version__}; {stamp}; {elapsed:.0f} s; load average (1/5/15 min) before: "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"Command: `{command}`",
        f"Forward pass, ms: median over {args.rounds} round-robin round(s) of the median of {args.repeats} runs "
        f"after {args.warmup} warm-up (spread of the round medians in brackets). Threads: OpenVINO "
        "INFERENCE_NUM_THREADS, ONNX Runtime intra_op_num_threads, dcnjit --threads.",
        "wall = elapsed time per call (what the targets are about); CPU = process CPU time per call, all threads "
        "together (on a machine shared with other processes it is what a call costs without the waits for a "
        "core; on 1 thread it approximates the wall time of an idle machine).",
        "",
    ]
    for text in dict.fromkeys(r[0] for r in results):
        rows = [r for r in results if r[0] == text]
        lines += [f"`{text}`", "",
                  "| implementation | " + " | ".join(f"{r[2]} thread(s) wall | {r[2]} thread(s) CPU" for r in rows) +
                  " |", "|---|" + "---:|---:|" * len(rows)]
        for name in rows[0][3]:
            lines.append(f"| {name} | " + " | ".join(f"{cell(r[3][name])} | {cell(r[4][name])}" for r in rows) + " |")
        lines.append("")

    def ratio(times, numerator, denominator):
        return statistics.median(times[numerator]) / statistics.median(times[denominator])

    lines += ["Ratios, OpenVINO f32 time / dcnjit time (targets: f32 >= 1.1x on 1 and 2 threads, bf16 >= 1.6x), "
              "from the medians above; wall (CPU):", "",
              "| problem | threads | " + " | ".join(f"dcnjit {d} vs OpenVINO f32" for d in dtypes) +
              " | dcnjit f32 vs ONNX Runtime |", "|---|---|" + "---:|" * (len(dtypes) + 1)]
    for text, p, threads, times, cpu_times in results:
        ratios = [f"{ratio(times, 'OpenVINO f32', f'dcnjit {d}'):.2f}x "
                  f"({ratio(cpu_times, 'OpenVINO f32', f'dcnjit {d}'):.2f}x)" for d in dtypes]
        ort = ""
        if "dcnjit f32" in times:
            ort = (f"{ratio(times, 'ONNX Runtime f32', 'dcnjit f32'):.2f}x "
                   f"({ratio(cpu_times, 'ONNX Runtime f32', 'dcnjit f32'):.2f}x)")
        lines.append(f"| {short_name(p)} | {threads} | " + " | ".join(ratios) + f" | {ort} |")
    lines += [""] + notes
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
