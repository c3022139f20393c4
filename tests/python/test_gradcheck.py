"""torch.autograd.gradcheck in float64 (finite differences against the analytic backward) on the cpu and sim
backends, both boundary rules."""

import pytest
import torch

import dcnjit.torch as dcn
from cases import Case

CASES = {
    "mask_bias": Case(N=1, C=2, H=4, W=4, Co=2),
    "groups2_offset_groups2_stride2": Case(N=2, C=4, H=5, W=4, Co=2, groups=2, offset_groups=2, stride=(2, 1),
                                           mask=True, bias=False),
    "dilation2_kernel2x3_nomask": Case(N=1, C=2, H=5, W=6, Co=3, k=(2, 3), dilation=(2, 1), padding=(1, 0),
                                       mask=False),
}


def check(case, backend, boundary):
    tensors = case.tensors(torch.float64, seed=11, offset_scale=1.5, requires_grad=True)
    x, offset, weight, bias, mask = tensors
    inputs = tuple(t for t in tensors if t is not None)

    def function(*args):
        it = iter(args)
        return dcn.deform_conv2d(next(it), next(it), next(it), next(it) if bias is not None else None,
                                 **case.geometry(), mask=next(it) if mask is not None else None, boundary=boundary,
                                 backend=backend)

    assert torch.autograd.gradcheck(function, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("boundary", ["v2", "v1"])
@pytest.mark.parametrize("name", CASES)
def test_gradcheck_cpu(name, boundary):
    check(CASES[name], "cpu", boundary)


@pytest.mark.parametrize("boundary", ["v2", "v1"])
def test_gradcheck_sim(boundary):
    # The sim backend compiles its kernels at first use: one small problem per boundary.
    check(CASES["mask_bias"], "sim", boundary)
