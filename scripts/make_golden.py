#!/usr/bin/python3
"""Writes the golden fixtures under tests/data/golden/<case>/ (run with Debian's /usr/bin/python3, which
has torch, torchvision and numpy; the test suite itself needs no Python).

Each case directory is in the layout `dcnjit run --in DIR` reads -- x.npy, offset.npy, weight.npy, optional
mask.npy and bias.npy, grad_y.npy -- plus the expected results y.npy, grad_x.npy, grad_offset.npy,
grad_weight.npy, grad_mask.npy (with a mask) and grad_bias.npy (with a bias), and case.json with the
parameters the files do not fix (stride, pad, dilation, groups, boundary).

Inputs are stored as float32 (exactly what the backends consume, so the reference is computed on the very
same values) and expected results as float64:
  - v2 cases come from torchvision.ops.deform_conv2d in float64 with autograd;
  - v1 cases come from the independent float64 numpy formulation below (docs/semantics.md), whose
    gradients are analytic.
The numpy formulation is checked against torchvision on every v2 case and against one-sided finite
differences on every case before anything is written, so a mistake in it cannot reach the fixtures.

Usage: /usr/bin/python3 scripts/make_golden.py [--out tests/data/golden]
"""

import argparse
import json
import pathlib
import shutil

import numpy as np
import torch
import torchvision

# ---------------------------------------------------------------------------------------------------------
# The operator in float64 numpy, written from docs/semantics.md (not from any backend's code).
# ---------------------------------------------------------------------------------------------------------


def sample_points(p, offset):
    """Sampling coordinates py, px of shape [N, og, T, Ho, Wo] for every output pixel and tap."""
    n, _, ho, wo = offset.shape
    kh, kw = p["kh"], p["kw"]
    sh, sw = p["stride"]
    ph, pw = p["pad"]
    dh, dw = p["dilation"]
    taps = kh * kw
    off = offset.reshape(n, -1, taps, 2, ho, wo)  # dy, dx interleaved per tap
    i = np.repeat(np.arange(kh), kw)  # tap t = i*kw + j
    j = np.tile(np.arange(kw), kh)
    base_y = (np.arange(ho)[None, :] * sh - ph) + (i * dh)[:, None]  # [T, Ho]
    base_x = (np.arange(wo)[None, :] * sw - pw) + (j * dw)[:, None]  # [T, Wo]
    py = base_y[None, None, :, :, None] + off[:, :, :, 0]
    px = base_x[None, None, :, None, :] + off[:, :, :, 1]
    return py, px


def corners(py, px, h, w, boundary):
    """The four bilinear corners of each sample point: list of (row, col, weight, d weight/d py,
    d weight/d px, valid), each an array shaped like py. Invalid corners have zero weights."""
    if boundary == "v2":
        # Zero-padded interpolant on the cell [floor(py), floor(py)+1]; nothing outside (-1, H) x (-1, W)
        # except the derivative at py == -1 exactly, which the cell rule gives (torchvision's convention).
        inside = (py >= -1) & (py < h) & (px >= -1) & (px < w)
        fy = np.floor(np.where(inside, py, 0.0))
        fx = np.floor(np.where(inside, px, 0.0))
        ly, lx = np.where(inside, py, 0.0) - fy, np.where(inside, px, 0.0) - fx
        gy = gx = np.ones_like(py)
        y0, x0 = fy.astype(np.int64), fx.astype(np.int64)
        y1, x1 = y0 + 1, x0 + 1
    else:
        # v1: only [0, H) x [0, W); from floor(py) >= H-1 on the last row repeats (py clamped to H-1),
        # so the derivative along a clamped axis is 0.
        inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
        cy = np.where(inside, py, 0.0)
        cx = np.where(inside, px, 0.0)
        clamp_y = np.floor(cy) >= h - 1
        clamp_x = np.floor(cx) >= w - 1
        cy = np.where(clamp_y, h - 1.0, cy)
        cx = np.where(clamp_x, w - 1.0, cx)
        fy, fx = np.floor(cy), np.floor(cx)
        ly, lx = cy - fy, cx - fx
        gy = np.where(clamp_y, 0.0, 1.0)
        gx = np.where(clamp_x, 0.0, 1.0)
        y0, x0 = fy.astype(np.int64), fx.astype(np.int64)
        y1 = np.where(clamp_y, y0, y0 + 1)
        x1 = np.where(clamp_x, x0, x0 + 1)
    hy, hx = 1 - ly, 1 - lx
    result = []
    for yy, xx, wgt, wy, wx in ((y0, x0, hy * hx, -hx * gy, -hy * gx), (y0, x1, hy * lx, -lx * gy, hy * gx),
                                (y1, x0, ly * hx, hx * gy, -ly * gx), (y1, x1, ly * lx, lx * gy, ly * gx)):
        valid = inside & (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        result.append((np.where(valid, yy, 0), np.where(valid, xx, 0), np.where(valid, wgt, 0.0),
                       np.where(valid, wy, 0.0), np.where(valid, wx, 0.0), valid))
    return result


def gather(x, og, rows, cols):
    """x[n, c, rows[n, g(c), ...], cols[n, g(c), ...]] -> [N, C, T, Ho, Wo]."""
    n, c = x.shape[:2]
    per_group = c // og
    group_of = np.arange(c) // per_group
    r = rows[:, group_of]  # [N, C, T, Ho, Wo]
    q = cols[:, group_of]
    return x[np.arange(n)[:, None, None, None, None], np.arange(c)[None, :, None, None, None], r, q]


def expand_groups(a, c, og):
    """[N, og, ...] -> [N, C, ...]: the per-offset-group value for every channel."""
    return a[:, np.arange(c) // (c // og)]


def numpy_forward(p, x, offset, mask, weight, bias, keep=False):
    n, c, h, w = x.shape
    co, cg, kh, kw = weight.shape
    groups = p["groups"]
    og = offset.shape[1] // (2 * kh * kw)
    py, px = sample_points(p, offset)
    cs = corners(py, px, h, w, p["boundary"])
    value = sum(expand_groups(wgt, c, og) * gather(x, og, r, q) for r, q, wgt, _, _, _ in cs)
    m = expand_groups(mask.reshape(n, og, kh * kw, *py.shape[-2:]), c, og) if mask is not None else 1.0
    cols = m * value  # [N, C, T, Ho, Wo]
    ho, wo = py.shape[-2:]
    y = np.empty((n, co, ho, wo))
    cog = co // groups
    for g in range(groups):
        wg = weight[g * cog:(g + 1) * cog].reshape(cog, cg * kh * kw)
        colg = cols[:, g * cg:(g + 1) * cg].reshape(n, cg * kh * kw, ho * wo)
        y[:, g * cog:(g + 1) * cog] = np.einsum("ok,nkp->nop", wg, colg).reshape(n, cog, ho, wo)
    if bias is not None:
        y += bias[None, :, None, None]
    if keep:
        return y, dict(cs=cs, value=value, m=m, cols=cols, og=og)
    return y


def numpy_backward(p, x, offset, mask, weight, bias, grad_y):
    """Analytic gradients of sum(y * grad_y) with respect to every input."""
    n, c, h, w = x.shape
    co, cg, kh, kw = weight.shape
    groups = p["groups"]
    taps = kh * kw
    _, s = numpy_forward(p, x, offset, mask, weight, bias, keep=True)
    og, cs, value, m, cols = s["og"], s["cs"], s["value"], s["m"], s["cols"]
    ho, wo = grad_y.shape[-2:]
    cog = co // groups
    dcols = np.empty_like(cols)
    grad_weight = np.empty_like(weight)
    for g in range(groups):
        wg = weight[g * cog:(g + 1) * cog].reshape(cog, cg * taps)
        gyg = grad_y[:, g * cog:(g + 1) * cog].reshape(n, cog, ho * wo)
        colg = cols[:, g * cg:(g + 1) * cg].reshape(n, cg * taps, ho * wo)
        dcols[:, g * cg:(g + 1) * cg] = np.einsum("ok,nop->nkp", wg, gyg).reshape(n, cg, taps, ho, wo)
        grad_weight[g * cog:(g + 1) * cog] = np.einsum("nop,nkp->ok", gyg, colg).reshape(cog, cg, kh, kw)

    def per_group_sum(a):  # [N, C, ...] -> [N, og, ...]
        return a.reshape(n, og, c // og, *a.shape[2:]).sum(axis=2)

    grad_x = np.zeros_like(x)
    dy = np.zeros((n, c, taps, ho, wo))
    dx = np.zeros((n, c, taps, ho, wo))
    group_of = np.arange(c) // (c // og)
    for r, q, wgt, wy, wx, valid in cs:
        corner = gather(x, og, r, q)
        dy += expand_groups(wy, c, og) * corner
        dx += expand_groups(wx, c, og) * corner
        contribution = dcols * m * expand_groups(wgt, c, og)
        nn = np.broadcast_to(np.arange(n)[:, None, None, None, None], contribution.shape)
        cc = np.broadcast_to(np.arange(c)[None, :, None, None, None], contribution.shape)
        np.add.at(grad_x, (nn, cc, r[:, group_of], q[:, group_of]), contribution)
    grad_py = per_group_sum(dcols * m * dy)  # [N, og, T, Ho, Wo]
    grad_px = per_group_sum(dcols * m * dx)
    grad_offset = np.stack([grad_py, grad_px], axis=3).reshape(offset.shape)
    out = dict(grad_x=grad_x, grad_offset=grad_offset, grad_weight=grad_weight)
    if mask is not None:
        out["grad_mask"] = per_group_sum(dcols * value).reshape(mask.shape)
    if bias is not None:
        out["grad_bias"] = grad_y.sum(axis=(0, 2, 3))
    return out


def torchvision_reference(p, x, offset, mask, weight, bias, grad_y):
    """y and all gradients from torchvision.ops.deform_conv2d in float64 (v2 semantics)."""
    def leaf(a):
        return None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True)

    tx, toff, tmask, tw, tb = leaf(x), leaf(offset), leaf(mask), leaf(weight), leaf(bias)
    ty = torchvision.ops.deform_conv2d(tx, toff, tw, tb, stride=tuple(p["stride"]), padding=tuple(p["pad"]),
                                       dilation=tuple(p["dilation"]), mask=tmask)
    ty.backward(torch.tensor(grad_y))
    out = dict(y=ty.detach().numpy(), grad_x=tx.grad.numpy(), grad_offset=toff.grad.numpy(),
               grad_weight=tw.grad.numpy())
    if tmask is not None:
        out["grad_mask"] = tmask.grad.numpy()
    if tb is not None:
        out["grad_bias"] = tb.grad.numpy()
    return out


# ---------------------------------------------------------------------------------------------------------
# Self-checks
# ---------------------------------------------------------------------------------------------------------


def rel_l2(a, b):
    return np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-300)


def finite_difference_check(name, p, inputs, grads, rng):
    """One-sided (forward) differences of L = sum(y * grad_y) on up to 60 elements of each input.

    The operator is linear in x, mask, weight and bias, and linear in each coordinate inside a bilinear
    cell, so a forward step is exact up to rounding; it is also the side the gradient convention picks
    at a cell border (the cell [floor(py), floor(py)+1]), which makes it valid for the integer-offset
    cases where a central difference would average two cells. The step 1e-6 keeps every perturbed
    coordinate inside its cell unless the coordinate lies within 1e-6 below an integer, which the
    random inputs avoid (checked below)."""
    x, offset, mask, weight, bias, grad_y = (inputs[k] for k in ("x", "offset", "mask", "weight", "bias", "grad_y"))
    py, px = sample_points(p, offset)
    for coord in (py, px):
        frac = coord - np.floor(coord)
        assert not np.any((frac > 1 - 1e-5) & (np.abs(coord) < 1e6)), f"{name}: a coordinate sits just below an integer"

    def loss(**changed):
        a = dict(x=x, offset=offset, mask=mask, weight=weight, bias=bias)
        a.update(changed)
        return float(np.sum(numpy_forward(p, a["x"], a["offset"], a["mask"], a["weight"], a["bias"]) * grad_y))

    step = 1e-6
    base = loss()
    for key, grad_key in (("x", "grad_x"), ("offset", "grad_offset"), ("mask", "grad_mask"),
                          ("weight", "grad_weight"), ("bias", "grad_bias")):
        array = inputs[key]
        if array is None:
            continue
        flat = array.ravel()
        picks = rng.choice(flat.size, size=min(60, flat.size), replace=False)
        numeric = np.empty(len(picks))
        for k, index in enumerate(picks):
            moved = flat.copy()
            moved[index] += step
            numeric[k] = (loss(**{key: moved.reshape(array.shape)}) - base) / step
        analytic = grads[grad_key].ravel()[picks]
        # The rounding error of the loss difference (~1e-16 * sum|y * grad_y| / step ~ 1e-9 here) is far
        # below this; a wrong formula is off by O(1).
        tolerance = 1e-6 * max(1.0, np.abs(analytic).max())
        error = np.abs(numeric - analytic).max()
        assert error <= tolerance, f"{name}: finite differences disagree on {grad_key} (max error {error:.3g})"


# ---------------------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------------------


def f32(a):
    """Rounds to float32 and back: the reference is computed on exactly the values the files hold."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def output_size(p, h, w):
    kh, kw = p["kh"], p["kw"]
    ho = (h + 2 * p["pad"][0] - (p["dilation"][0] * (kh - 1) + 1)) // p["stride"][0] + 1
    wo = (w + 2 * p["pad"][1] - (p["dilation"][1] * (kw - 1) + 1)) // p["stride"][1] + 1
    return ho, wo


def make_case(name, seed, n, c, h, w, co, kh, kw, stride=(1, 1), pad=(0, 0), dilation=(1, 1), groups=1, og=1,
              mask=True, bias=True, boundary="v2", offsets="random", offset_scale=1.5, description=""):
    rng = np.random.default_rng(seed)
    p = dict(kh=kh, kw=kw, stride=list(stride), pad=list(pad), dilation=list(dilation), groups=groups,
             boundary=boundary)
    ho, wo = output_size(p, h, w)
    offset_shape = (n, 2 * og * kh * kw, ho, wo)
    if offsets == "random":
        offset = rng.normal(0.0, offset_scale, offset_shape)
    elif offsets == "zero":
        offset = np.zeros(offset_shape)
    elif offsets == "integer":
        offset = rng.integers(-3, 4, offset_shape).astype(np.float64)
    elif offsets == "large":
        # Most points land far outside the image (both sides), some stay inside.
        offset = rng.normal(0.0, offset_scale, offset_shape)
        offset += rng.choice([-1e3, -40.0, 0.0, 0.0, 25.0, 1e3], size=offset_shape)
    elif offsets == "edge":
        # Integer and fractional points on the last rows/columns and just inside the first ones.
        offset = rng.choice([0.0, 0.25, 0.5, float(h - 1), float(w - 1), h - 0.5, w - 0.75, -0.5], offset_shape)
    else:
        raise ValueError(offsets)
    inputs = dict(
        x=f32(rng.normal(size=(n, c, h, w))),
        offset=f32(offset),
        mask=f32(rng.uniform(0.0, 1.0, (n, og * kh * kw, ho, wo))) if mask else None,
        weight=f32(rng.normal(size=(co, c // groups, kh, kw)) / np.sqrt(c // groups * kh * kw)),
        bias=f32(rng.normal(size=co)) if bias else None,
        grad_y=f32(rng.normal(size=(n, co, ho, wo))),
    )
    args = [inputs[k] for k in ("x", "offset", "mask", "weight", "bias")]
    y = numpy_forward(p, *args)
    grads = numpy_backward(p, *args, inputs["grad_y"])
    finite_difference_check(name, p, inputs, grads, rng)
    expected = dict(y=y, **grads)
    source = "numpy float64 formulation of docs/semantics.md (scripts/make_golden.py)"
    if boundary == "v2":
        reference = torchvision_reference(p, *args, inputs["grad_y"])
        for key, value in reference.items():
            error = rel_l2(expected[key], value)
            assert error < 1e-12, f"{name}: numpy formulation and torchvision disagree on {key} (rel L2 {error:.3g})"
        expected = reference
        source = f"torchvision {torchvision.__version__} ops.deform_conv2d, float64 autograd"
    meta = dict(stride=list(stride), pad=list(pad), dilation=list(dilation), groups=groups, boundary=boundary,
                description=description, source=source)
    return inputs, expected, meta


CASES = [
    # name, arguments of make_case
    ("v2_mask_bias_3x3_pad1", dict(seed=1, n=1, c=2, h=5, w=5, co=3, kh=3, kw=3, pad=(1, 1),
                                   description="DCNv2 basics: mask, bias, 3x3, pad 1")),
    ("v2_nomask_nobias_batch2", dict(seed=2, n=2, c=3, h=6, w=7, co=2, kh=3, kw=3, pad=(1, 1), mask=False,
                                     bias=False, description="DCNv1-style (no mask), no bias, batch 2")),
    ("v2_groups2", dict(seed=3, n=1, c=4, h=5, w=6, co=4, kh=3, kw=3, pad=(1, 1), groups=2,
                        description="convolution groups")),
    ("v2_offset_groups2_batch3", dict(seed=4, n=3, c=4, h=6, w=5, co=3, kh=3, kw=3, pad=(1, 1), og=2,
                                      description="two offset groups, odd batch")),
    ("v2_groups3_offset_groups2", dict(seed=5, n=1, c=6, h=5, w=5, co=3, kh=2, kw=2, groups=3, og=2, bias=False,
                                       description="groups and offset groups that do not align")),
    ("v2_nonsquare_per_axis", dict(seed=6, n=3, c=2, h=7, w=5, co=2, kh=2, kw=3, stride=(2, 1), pad=(1, 0),
                                   dilation=(1, 2), description="non-square kernel and image, per-axis "
                                   "stride/pad/dilation, odd batch")),
    ("v2_kernel1x3_stride2", dict(seed=7, n=1, c=3, h=6, w=8, co=2, kh=1, kw=3, stride=(2, 2), pad=(0, 1),
                                  mask=False, description="1x3 kernel, stride 2, no mask")),
    ("v2_large_offsets", dict(seed=8, n=2, c=2, h=5, w=6, co=2, kh=3, kw=3, pad=(1, 1), offsets="large",
                              description="offsets far beyond the image (+-1e3, -40, 25)")),
    ("v2_zero_offsets_pad1", dict(seed=9, n=1, c=3, h=4, w=5, co=2, kh=3, kw=3, pad=(1, 1), offsets="zero",
                                  description="zero offsets: taps exactly on py == -1 (border convention)")),
    ("v2_integer_offsets", dict(seed=10, n=2, c=2, h=5, w=5, co=2, kh=3, kw=3, pad=(1, 1), offsets="integer",
                                og=2, description="integer offsets: every point on a cell border")),
    ("v2_edge_points", dict(seed=11, n=1, c=2, h=4, w=5, co=2, kh=2, kw=2, offsets="edge",
                            description="points on and near the last row and column")),
    ("v1_mask_bias_3x3_pad1", dict(seed=21, n=1, c=2, h=5, w=5, co=3, kh=3, kw=3, pad=(1, 1), boundary="v1",
                                   description="v1 boundary with mask and bias")),
    ("v1_nomask_groups2_batch3", dict(seed=22, n=3, c=4, h=6, w=5, co=2, kh=3, kw=3, pad=(1, 1), groups=2,
                                      mask=False, boundary="v1", description="MXNet DCNv1: no mask, groups")),
    ("v1_offset_groups2_nonsquare", dict(seed=23, n=2, c=4, h=7, w=5, co=2, kh=2, kw=3, stride=(1, 2),
                                         pad=(0, 1), dilation=(2, 1), og=2, boundary="v1",
                                         description="v1, offset groups, per-axis stride/pad/dilation")),
    ("v1_large_offsets", dict(seed=24, n=1, c=2, h=5, w=6, co=2, kh=3, kw=3, pad=(1, 1), offsets="large",
                              boundary="v1", description="v1, offsets far beyond the image")),
    ("v1_zero_offsets_pad1", dict(seed=25, n=1, c=3, h=4, w=5, co=2, kh=3, kw=3, pad=(1, 1), offsets="zero",
                                  boundary="v1", description="v1 zero offsets: -1 taps are 0, last row clamped")),
    ("v1_integer_offsets", dict(seed=26, n=2, c=2, h=5, w=5, co=2, kh=3, kw=3, pad=(1, 1), offsets="integer",
                                boundary="v1", description="v1 integer offsets, clamped rows and columns")),
    ("v1_edge_points", dict(seed=27, n=1, c=2, h=4, w=5, co=2, kh=2, kw=2, offsets="edge", boundary="v1",
                            description="v1: points in [H-1, H) and [W-1, W) clamp to the last row/column")),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent.parent / "tests/data/golden"))
    out = pathlib.Path(parser.parse_args().out)
    # Start from scratch so a renamed or dropped case leaves nothing behind (README.md and other files stay).
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
        print(f"{name:32s} {size / 1024:6.1f} KiB  {meta['source'].split(',')[0]}")
    print(f"{len(CASES)} cases, {total / 1024:.1f} KiB in {out}")


if __name__ == "__main__":
    main()
