"""The committed golden fixtures (tests/data/golden, scripts/make_golden.py) through the Python package: v1
against the project's independent float64 formulation of the v1 boundary, v2 against torchvision in float64.
Forward and all five gradients, in float64 on the cpu backend."""

import json
import pathlib

import numpy as np
import pytest
import torch

import dcnjit.torch as dcn

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "data" / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.json").exists())


def load(directory, name):
    path = directory / f"{name}.npy"
    return torch.from_numpy(np.load(path)).double() if path.exists() else None


def test_fixtures_present():
    assert any(c.startswith("v1_") for c in CASES) and any(c.startswith("v2_") for c in CASES), CASES


@pytest.mark.parametrize("case", CASES)
def test_golden_fixture(case):
    directory = GOLDEN / case
    spec = json.loads((directory / "case.json").read_text())
    inputs = {name: load(directory, name) for name in ("x", "offset", "weight", "bias", "mask")}
    for tensor in inputs.values():
        if tensor is not None:
            tensor.requires_grad_(True)
    y = dcn.deform_conv2d(inputs["x"], inputs["offset"], inputs["weight"], inputs["bias"], stride=spec["stride"],
                          padding=spec["pad"], dilation=spec["dilation"], mask=inputs["mask"],
                          boundary=spec["boundary"])
    assert (spec["groups"] == 1) == (inputs["weight"].shape[1] == inputs["x"].shape[1])
    torch.testing.assert_close(y, load(directory, "y"), rtol=1e-9, atol=1e-9)
    y.backward(load(directory, "grad_y"))
    for name, tensor in inputs.items():
        if tensor is None:
            continue
        expected = load(directory, f"grad_{name}")
        assert expected is not None, f"{case}: grad_{name}.npy missing"
        torch.testing.assert_close(tensor.grad, expected, rtol=1e-9, atol=1e-9, msg=lambda m: f"grad_{name}: {m}")
