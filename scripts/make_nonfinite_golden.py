#!/usr/bin/python3
"""Writes the non-finite fixtures under tests/data/nonfinite/<case>/ (run with Debian's /usr/bin/python3,
which has torch, torchvision and numpy; the test suite itself needs no Python).

Each case has NaN and +-Inf in x, the mask, the weights or grad_y, and the expected results hold the NaN
and Inf that IEEE arithmetic puts there (docs/semantics.md, "Non-finite inputs"). The layout is
tests/data/golden's (scripts/make_golden.py): inputs as float32, expected results as float64, case.json.

  - v2 cases come from torchvision.ops.deform_conv2d in float64 with autograd: the reference of the rules;
  - v1 cases come from ieee_reference() below, a scalar float64 transcription of the rules in
    docs/semantics.md (written from the document, not from any backend's code). It is checked against
    torchvision on every v2 case and on a few hundred random v2 problems with NaN, Inf and zeros in every
    input before anything is written: NaN and Inf at exactly the same positions, finite values to 1e-12.

Offsets are multiples of 1/4 (exact in float32), so the float32 backends and the float64 references see
the same sample points, cell borders included.

Usage: /usr/bin/python3 scripts/make_nonfinite_golden.py [--out tests/data/nonfinite]
"""

import argparse
import json
import math
import pathlib
import shutil
import sys
import warnings

import numpy as np
import torchvision

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_golden import f32, output_size, torchvision_reference  # noqa: E402

# ---------------------------------------------------------------------------------------------------------
# The rules of docs/semantics.md, one scalar at a time in float64.
# ---------------------------------------------------------------------------------------------------------


def point_corners(py, px, h, w, boundary):
    """(value corners, derivative corners) of a sample point: lists of (row, col, w, d w/d py, d w/d px).
    Corners outside the image are not in the lists (they are 0 and never read)."""
    if boundary == "v2":
        if not (-1 <= py < h and -1 <= px < w):
            return [], []
        y0, x0 = math.floor(py), math.floor(px)
        ly, lx = py - y0, px - x0
        hy, hx = 1 - ly, 1 - lx
        corners = [(y0, x0, hy * hx, -hx, -hy), (y0, x0 + 1, hy * lx, -lx, hy), (y0 + 1, x0, ly * hx, hx, -ly),
                   (y0 + 1, x0 + 1, ly * lx, lx, ly)]
        inside = [c for c in corners if 0 <= c[0] < h and 0 <= c[1] < w]
        # The value is exactly 0 on the border py == -1 or px == -1; the derivatives still read row/column 0.
        return (inside if py > -1 and px > -1 else []), inside
    if not (0 <= py < h and 0 <= px < w):
        return [], []
    y0, x0 = math.floor(py), math.floor(px)
    clamp_y, clamp_x = y0 >= h - 1, x0 >= w - 1
    if clamp_y:
        y0, py = h - 1, float(h - 1)
    if clamp_x:
        x0, px = w - 1, float(w - 1)
    y1 = y0 if clamp_y else y0 + 1
    x1 = x0 if clamp_x else x0 + 1
    ly, lx = py - y0, px - x0
    hy, hx = 1 - ly, 1 - lx
    gy, gx = (0.0 if clamp_y else 1.0), (0.0 if clamp_x else 1.0)
    corners = [(y0, x0, hy * hx, -hx * gy, -hy * gx), (y0, x1, hy * lx, -lx * gy, hy * gx),
               (y1, x0, ly * hx, hx * gy, -ly * gx), (y1, x1, ly * lx, lx * gy, ly * gx)]
    return corners, corners


def ieee_reference(p, x, offset, mask, weight, bias, grad_y):
    """y and every gradient by the rules of docs/semantics.md, evaluated in float64 IEEE arithmetic."""
    n_images, c_in, h, w = x.shape
    co, cg, kh, kw = weight.shape
    groups = p["groups"]
    sh, sw = p["stride"]
    ph, pw = p["pad"]
    dh, dw = p["dilation"]
    taps = kh * kw
    og = offset.shape[1] // (2 * taps)
    per_og = c_in // og
    ho_n, wo_n = grad_y.shape[2:]
    cog = co // groups
    cols = np.zeros((n_images, c_in, taps, ho_n, wo_n))
    points = {}
    for n in range(n_images):
        for g in range(og):
            for t in range(taps):
                i, j = divmod(t, kw)
                for ho in range(ho_n):
                    for wo in range(wo_n):
                        py = ho * sh - ph + i * dh + float(offset[n, g * 2 * taps + 2 * t, ho, wo])
                        px = wo * sw - pw + j * dw + float(offset[n, g * 2 * taps + 2 * t + 1, ho, wo])
                        m = float(mask[n, g * taps + t, ho, wo]) if mask is not None else 1.0
                        value_corners, derivative_corners = point_corners(py, px, h, w, p["boundary"])
                        points[n, g, t, ho, wo] = (m, value_corners, derivative_corners)
                        for c in range(g * per_og, (g + 1) * per_og):
                            value = 0.0
                            for row, col, wgt, _, _ in value_corners:
                                value += wgt * float(x[n, c, row, col])
                            cols[n, c, t, ho, wo] = m * value
    y = np.zeros((n_images, co, ho_n, wo_n))
    dcols = np.zeros_like(cols)
    grad_weight = np.zeros(weight.shape)
    with np.errstate(all="ignore"):  # Inf * 0 and Inf - Inf are the point here
        for g in range(groups):
            wg = weight[g * cog:(g + 1) * cog].reshape(cog, cg * taps)
            colg = cols[:, g * cg:(g + 1) * cg].reshape(n_images, cg * taps, ho_n * wo_n)
            gyg = grad_y[:, g * cog:(g + 1) * cog].reshape(n_images, cog, ho_n * wo_n)
            y[:, g * cog:(g + 1) * cog] = np.einsum("ok,nkp->nop", wg, colg).reshape(n_images, cog, ho_n, wo_n)
            dcols[:, g * cg:(g + 1) * cg] = np.einsum("ok,nop->nkp", wg, gyg).reshape(n_images, cg, taps, ho_n, wo_n)
            grad_weight[g * cog:(g + 1) * cog] = np.einsum("nop,nkp->ok", gyg, colg).reshape(cog, cg, kh, kw)
        if bias is not None:
            y += bias[None, :, None, None]
    grad_x = np.zeros(x.shape)
    grad_offset = np.zeros(offset.shape)
    grad_mask = np.zeros(mask.shape) if mask is not None else None
    for (n, g, t, ho, wo), (m, value_corners, derivative_corners) in points.items():
        sum_py = sum_px = sum_m = 0.0
        for c in range(g * per_og, (g + 1) * per_og):
            d = dcols[n, c, t, ho, wo]
            d_py = d_px = value = 0.0
            for row, col, _, wy, wx in derivative_corners:
                d_py += wy * float(x[n, c, row, col])
                d_px += wx * float(x[n, c, row, col])
            for row, col, wgt, _, _ in value_corners:
                value += wgt * float(x[n, c, row, col])
            sum_py += (m * d_py) * d
            sum_px += (m * d_px) * d
            sum_m += d * value
            for row, col, wgt, _, _ in derivative_corners:  # the corners that exist; zero weights add nothing
                if wgt != 0:
                    grad_x[n, c, row, col] += (m * wgt) * d
        grad_offset[n, g * 2 * taps + 2 * t, ho, wo] = sum_py
        grad_offset[n, g * 2 * taps + 2 * t + 1, ho, wo] = sum_px
        if grad_mask is not None:
            grad_mask[n, g * taps + t, ho, wo] = sum_m
    out = dict(y=y, grad_x=grad_x, grad_offset=grad_offset, grad_weight=grad_weight)
    if grad_mask is not None:
        out["grad_mask"] = grad_mask
    if bias is not None:
        out["grad_bias"] = grad_y.sum(axis=(0, 2, 3))
    return out


# ---------------------------------------------------------------------------------------------------------
# Self-checks
# ---------------------------------------------------------------------------------------------------------


def same_values(a, b):
    """NaN, +Inf and -Inf at the same positions, finite values equal to 1e-12 relative."""
    if not (np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isposinf(a), np.isposinf(b))
            and np.array_equal(np.isneginf(a), np.isneginf(b))):
        return False
    finite = np.isfinite(b)
    return np.allclose(a[finite], b[finite], rtol=1e-12, atol=1e-12)


def check_against_torchvision(name, p, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torchvision_reference(p, *args)
        got = ieee_reference(p, *args)
    for key, value in want.items():
        assert same_values(got[key], value), f"{name}: the rules of docs/semantics.md and torchvision disagree on {key}"
    return want


def random_self_check(trials=300, seed=99):
    """The scalar rules against torchvision on random v2 problems with NaN, +-Inf and zeros poked into x, the
    mask, the weights and grad_y, and offsets of every kind: integer (cell borders, the -1 border with pad 1),
    quarter, far outside."""
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        c, h, w = int(rng.choice([2, 4])), int(rng.integers(3, 6)), int(rng.integers(3, 6))
        og, groups, kw = int(rng.choice([1, 2])), int(rng.choice([1, 2])), int(rng.choice([2, 3]))
        p = dict(kh=3, kw=kw, stride=[1, 1], pad=[1, 1], dilation=[1, 1], groups=groups, boundary="v2")
        ho, wo = output_size(p, h, w)
        shape = (1, 2 * og * 3 * kw, ho, wo)
        offset = {0: rng.integers(-2, 3, shape) * 1.0, 1: rng.integers(-8, 9, shape) * 0.25,
                  2: rng.choice([-40.0, 0.0, 0.25, 30.0, -1.5], shape), 3: np.zeros(shape)}[trial % 4]
        x = f32(rng.normal(size=(1, c, h, w)))
        mask = f32(rng.uniform(0, 1, (1, og * 3 * kw, ho, wo))) if trial % 3 else None
        weight = f32(rng.normal(size=(2 * groups, c // groups, 3, kw)))
        bias = f32(rng.normal(size=2 * groups)) if trial % 2 else None
        grad_y = f32(rng.normal(size=(1, 2 * groups, ho, wo)))
        poisonable = [a for a in (x, mask, weight, grad_y) if a is not None]
        for _ in range(int(rng.integers(1, 4))):
            a = poisonable[int(rng.integers(0, len(poisonable)))]
            index = (0,) * a.ndim if rng.random() < 0.3 else tuple(int(rng.integers(0, s)) for s in a.shape)
            a[index] = rng.choice([np.nan, np.inf, -np.inf, 0.0])
        check_against_torchvision(f"random trial {trial}", p, (x, offset, mask, weight, bias, grad_y))


# ---------------------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------------------


def make_case(name, seed, c, h, w, co, groups=1, og=1, mask=True, bias=True, boundary="v2", poison=(),
              description=""):
    """A 3x3, pad 1 problem (N1) with quarter offsets of every kind and `poison`: (input, index, value)."""
    rng = np.random.default_rng(seed)
    p = dict(kh=3, kw=3, stride=[1, 1], pad=[1, 1], dilation=[1, 1], groups=groups, boundary=boundary)
    ho, wo = output_size(p, h, w)
    offset_shape = (1, 2 * og * 9, ho, wo)
    # Zero offsets put the border taps on py == -1 (pad 1); integers sit on cell borders; -40 and 30 leave
    # the image; quarters sample inside cells.
    offset = rng.choice([0.0, 0.0, 1.0, -1.0, 0.25, -0.75, 1.5, -40.0, 30.0], offset_shape)
    inputs = dict(
        x=f32(rng.normal(size=(1, c, h, w))),
        offset=offset,
        mask=f32(rng.uniform(0.25, 1.0, (1, og * 9, ho, wo))) if mask else None,
        weight=f32(rng.normal(size=(co, c // groups, 3, 3)) / 3),
        bias=f32(rng.normal(size=co)) if bias else None,
        grad_y=f32(rng.normal(size=(1, co, ho, wo))),
    )
    for key, index, value in poison:
        inputs[key][index] = value
    args = [inputs[k] for k in ("x", "offset", "mask", "weight", "bias", "grad_y")]
    if boundary == "v2":
        expected = check_against_torchvision(name, p, args)
        source = f"torchvision {torchvision.__version__} ops.deform_conv2d, float64 autograd"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = ieee_reference(p, *args)
        source = "scalar float64 rules of docs/semantics.md (scripts/make_nonfinite_golden.py)"
    non_finite = sum(int(np.count_nonzero(~np.isfinite(v))) for v in expected.values())
    assert non_finite > 0, f"{name}: no NaN or Inf reaches the results"
    meta = dict(stride=[1, 1], pad=[1, 1], dilation=[1, 1], groups=groups, boundary=boundary,
                description=description, source=source)
    return inputs, expected, meta


NAN, INF = float("nan"), float("inf")

CASES = [
    ("v2_x_nonfinite", dict(seed=41, c=4, h=5, w=6, co=3, poison=[
        ("x", (0, 0, 0, 0), NAN),  # element 0 of a plane: where unread corners used to point
        ("x", (0, 1, 0, 3), INF),  # row 0: read by the derivatives of points on py == -1, not by their value
        ("x", (0, 2, 2, 2), -INF),
        ("x", (0, 3, 4, 5), NAN)],
        description="NaN and +-Inf in x, at element 0 of a plane, on row 0 and inside")),
    ("v2_mask_nonfinite", dict(seed=42, c=4, h=5, w=5, co=2, og=2, poison=[
        ("mask", (0, 4, 2, 2), INF), ("mask", (0, 13, 0, 0), -INF), ("mask", (0, 7, 3, 1), NAN),
        ("mask", (0, 0, 1, 1), INF), ("x", (0, 0, 1, 1), 0.0), ("x", (0, 2, 2, 3), 0.0)],
        description="+-Inf and NaN in the mask (inside points, border points), zeros in x")),
    ("v2_weight_nonfinite", dict(seed=43, c=4, h=5, w=6, co=4, groups=2, mask=False, poison=[
        ("weight", (1, 0, 1, 1), INF), ("weight", (2, 1, 0, 2), -INF), ("weight", (3, 0, 2, 0), NAN),
        ("grad_y", (0, 1, 2, 2), 0.0)],
        description="+-Inf and NaN weights, groups 2, no mask, a zero in grad_y")),
    ("v2_grad_y_nonfinite", dict(seed=44, c=4, h=5, w=5, co=3, bias=False, poison=[
        ("grad_y", (0, 0, 1, 2), NAN), ("grad_y", (0, 1, 3, 3), INF), ("grad_y", (0, 2, 0, 4), -INF),
        ("weight", (0, 1, 1, 1), 0.0)],
        description="NaN and +-Inf in grad_y (points outside the image too), a zero weight")),
    ("v1_x_mask_nonfinite", dict(seed=45, c=4, h=5, w=6, co=2, boundary="v1", poison=[
        ("x", (0, 0, 0, 0), NAN), ("x", (0, 1, 4, 5), INF), ("x", (0, 3, 4, 2), -INF),
        ("mask", (0, 4, 2, 2), INF), ("mask", (0, 8, 4, 5), NAN)],
        description="v1: NaN and +-Inf in x on the clamped last row and column, non-finite mask")),
    ("v1_weight_grad_y_nonfinite", dict(seed=46, c=4, h=5, w=5, co=2, og=2, boundary="v1", poison=[
        ("weight", (1, 2, 1, 1), INF), ("grad_y", (0, 0, 2, 3), NAN), ("grad_y", (0, 1, 4, 4), -INF)],
        description="v1: an Inf weight, NaN and -Inf in grad_y, offset groups")),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent / "tests/data/nonfinite"))
    out = pathlib.Path(parser.parse_args().out)
    random_self_check()
    if out.exists():
        for old_case in out.iterdir():
            if old_case.is_dir():
                shutil.rmtree(old_case)
    total = 0
    for name, kwargs in CASES:
        inputs, expected, meta = make_case(name, **kwargs)
        case_dir = out / name
        case_dir.mkdir(parents=True)
        for key, value in inputs.items():
            if value is not None:
                np.save(case_dir / f"{key}.npy", value.astype(np.float32))
        for key, value in expected.items():
            np.save(case_dir / f"{key}.npy", np.ascontiguousarray(value, dtype=np.float64))
        (case_dir / "case.json").write_text(json.dumps(meta, indent=2) + "\n")
        size = sum(f.stat().st_size for f in case_dir.iterdir())
        total += size
        counts = {k: int(np.count_nonzero(~np.isfinite(v))) for k, v in expected.items()}
        print(f"{name:28s} {size / 1024:5.1f} KiB  non-finite results {counts}")
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {out}")


if __name__ == "__main__":
    main()
