"""dcnjit against torchvision.ops.deform_conv2d (boundary v2): forward and every gradient on random problems,
the plain forward (dcnjit.deform_conv2d) and the autograd one (dcnjit.torch.deform_conv2d), and a backward
that computes only the gradients autograd asks for."""

import pytest
import torch
import torchvision

import dcnjit
import dcnjit.torch as dcn
from cases import CASES, Case

NAMES = ("input", "offset", "weight", "bias", "mask")
TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=2e-4, atol=2e-4)}


def reference(tensors, case):
    x, offset, weight, bias, mask = tensors
    return torchvision.ops.deform_conv2d(x, offset, weight, bias, mask=mask, **case.geometry())


def present(tensors):
    return [t for t in tensors if t is not None]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", CASES)
def test_forward_and_gradients_match_torchvision(name, dtype):
    case = CASES[name]
    ours = case.tensors(dtype, seed=1, requires_grad=True)
    theirs = case.tensors(torch.float64, seed=1, requires_grad=True)  # torchvision in float64 as the truth
    y = dcn.deform_conv2d(*ours[:4], **case.geometry(), mask=ours[4])
    y_ref = reference(theirs, case)
    assert y.dtype == dtype and y.shape == y_ref.shape
    torch.testing.assert_close(y.double(), y_ref, **TOLERANCE[dtype])

    grad_y = torch.randn(y_ref.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    grads = torch.autograd.grad(y, present(ours), grad_y.to(dtype))
    grads_ref = torch.autograd.grad(y_ref, present(theirs), grad_y)
    names = [n for n, t in zip(NAMES, ours) if t is not None]
    for tensor_name, grad, grad_ref in zip(names, grads, grads_ref):
        assert grad.dtype == dtype, tensor_name
        torch.testing.assert_close(grad.double(), grad_ref, **TOLERANCE[dtype], msg=lambda m: f"{tensor_name}: {m}")


@pytest.mark.parametrize("name", CASES)
def test_plain_forward_matches_torchvision(name):
    case = CASES[name]
    tensors = case.tensors(torch.float32, seed=3)
    y = dcnjit.deform_conv2d(*tensors[:4], **case.geometry(), mask=tensors[4])
    assert isinstance(y, torch.Tensor) and not y.requires_grad
    torch.testing.assert_close(y, reference(tensors, case), **TOLERANCE[torch.float32])


def test_plain_forward_accepts_positional_torchvision_order():
    case = Case()
    x, offset, weight, bias, mask = case.tensors(torch.float32, seed=4)
    y = dcnjit.deform_conv2d(x, offset, weight, bias, (1, 1), 1, 1, mask)
    torch.testing.assert_close(y, torchvision.ops.deform_conv2d(x, offset, weight, bias, (1, 1), 1, 1, mask))


def addresses(args, kwargs):
    """The data address the C++ API sees for each array argument (None for an absent one). Only the addresses
    are kept: holding the arrays would change what autograd does with them (it adopts an unshared gradient
    as .grad, but copies a shared one)."""
    def address(value):
        return dcnjit.tensor_info(value)["data"] if hasattr(value, "__dlpack__") else value
    return [address(a) for a in args], {name: address(value) for name, value in kwargs.items()}


class SpyPlan:
    """Records what a Plan is called with (the real plan does the work)."""

    def __init__(self, plan):
        self.plan, self.backward_calls, self.forward_calls = plan, [], []

    def __getattr__(self, name):
        return getattr(self.plan, name)

    def forward(self, *args, **kwargs):
        self.forward_calls.append(addresses(args, kwargs))
        return self.plan.forward(*args, **kwargs)

    def backward(self, *args, **kwargs):
        self.backward_calls.append(addresses(args, kwargs))
        return self.plan.backward(*args, **kwargs)


@pytest.fixture
def spy(monkeypatch):
    spies = []
    real = dcnjit._engines.plan_for

    def plan_for(engine, problem):
        spies.append(SpyPlan(real(engine, problem)))
        return spies[-1]

    monkeypatch.setattr(dcnjit._engines, "plan_for", plan_for)
    return spies


GRAD_ARGUMENTS = {"input": "grad_x", "offset": "grad_offset", "weight": "grad_weight", "bias": "grad_bias",
                  "mask": "grad_mask"}


@pytest.mark.parametrize("wanted", [("offset",), ("input",), ("weight", "bias"), ("mask", "offset"), ("bias",)])
def test_backward_computes_only_what_autograd_needs(spy, wanted):
    case = Case()
    ours = case.tensors(torch.float64, seed=5)
    theirs = case.tensors(torch.float64, seed=5)
    for name, a, b in zip(NAMES, ours, theirs):
        a.requires_grad_(name in wanted)
        b.requires_grad_(name in wanted)
    y = dcn.deform_conv2d(*ours[:4], **case.geometry(), mask=ours[4])
    grad_y = torch.randn(y.shape, dtype=torch.float64)
    y.backward(grad_y)
    reference(theirs, case).backward(grad_y)

    (_, kwargs), = spy[0].backward_calls
    requested = {name for name, argument in GRAD_ARGUMENTS.items() if kwargs.get(argument) is not None}
    assert requested == set(wanted)
    for name, a, b in zip(NAMES, ours, theirs):
        if name in wanted:
            torch.testing.assert_close(a.grad, b.grad, **TOLERANCE[torch.float64])
        else:
            assert a.grad is None


def test_no_gradient_wanted_calls_no_backward(spy):
    case = Case()
    tensors = case.tensors(torch.float64, seed=6)
    y = dcn.deform_conv2d(*tensors[:4], **case.geometry(), mask=tensors[4])
    assert not y.requires_grad and spy[0].backward_calls == []


def test_double_backward_is_refused():
    case = Case(mask=False, bias=False)
    x, offset, weight, _, _ = case.tensors(torch.float64, seed=7, requires_grad=True)
    y = dcn.deform_conv2d(x, offset, weight, padding=1)
    grad_y = torch.ones_like(y, requires_grad=True)  # so that the gradient itself would be differentiable
    (grad_x,) = torch.autograd.grad(y, x, grad_y, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad_x.sum().backward()
