"""CUDA tensors on the cuda backend, on the caller's current stream. Skipped with the reason when torch sees
no GPU (Debian's python3-torch is built without CUDA, so these run only with a CUDA build of torch)."""

import pytest
import torch
import torchvision

import dcnjit
import dcnjit.torch as dcn
from cases import Case

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA GPU visible to torch (or torch built without CUDA)")


def cuda_tensors(case, dtype=torch.float32, seed=61, requires_grad=False):
    return [None if t is None else t.cuda().requires_grad_(requires_grad)
            for t in case.tensors(dtype, seed=seed)]


def test_forward_and_gradients_on_cuda_match_torchvision():
    case = Case(N=2, C=8, H=9, W=7, Co=6, groups=2, offset_groups=2)
    ours = cuda_tensors(case, requires_grad=True)
    theirs = cuda_tensors(case, requires_grad=True)
    y = dcn.deform_conv2d(*ours[:4], **case.geometry(), mask=ours[4])
    y_ref = torchvision.ops.deform_conv2d(*theirs[:4], **case.geometry(), mask=theirs[4])
    torch.testing.assert_close(y, y_ref, rtol=1e-3, atol=1e-3)
    grad_y = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(y, ours, grad_y), torch.autograd.grad(y_ref, theirs, grad_y)):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)


def test_runs_on_the_current_stream():
    case = Case(N=4, C=16, H=32, W=32, Co=16)
    x, offset, weight, bias, mask = cuda_tensors(case)
    expected = torchvision.ops.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    staged = torch.zeros_like(x)
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # the copy below lands only after this; work on another stream would
        staged.copy_(x)                # read the zeros
        y = dcnjit.deform_conv2d(staged, offset, weight, bias, padding=1, mask=mask)
    side.synchronize()
    torch.testing.assert_close(y, expected, rtol=1e-3, atol=1e-3)


def test_cuda_tensor_on_the_cpu_backend_is_an_error():
    x, offset, weight, bias, mask = cuda_tensors(Case())
    with pytest.raises(ValueError, match="x: tensor is on cuda but the cpu backend needs cpu memory"):
        dcnjit.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, backend="cpu")
