"""Tensors reach the C++ API as views of the caller's memory (DLPack, no copies), outputs are written in
place, and Plan.backward overwrites the gradient arrays it is given."""

import numpy as np
import pytest
import torch
import torchvision

import dcnjit
import dcnjit.torch as dcn
from cases import Case
from test_torchvision import SpyPlan, spy  # noqa: F401 (fixture)

CASE = Case(N=2, C=4, H=6, W=5, Co=3)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_torch_tensor_is_seen_in_place(dtype, memory_format):
    tensor = torch.randn(2, 3, 4, 5).to(dtype).contiguous(memory_format=memory_format)
    info = dcnjit.tensor_info(tensor)
    assert info["data"] == tensor.data_ptr()
    assert info["shape"] == tuple(tensor.shape) and info["strides"] == tensor.stride()
    assert info["dtype"] == {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
                             torch.float64: "f64"}[dtype]
    assert info["device"] == "cpu"


def test_numpy_array_is_seen_in_place():
    array = np.zeros((2, 3, 4, 5), np.float32).transpose(0, 2, 3, 1)  # a non-contiguous view
    info = dcnjit.tensor_info(array)
    assert info["data"] == array.ctypes.data
    assert info["strides"] == tuple(s // array.itemsize for s in array.strides)


def test_tensor_requiring_grad_is_seen_in_place():
    tensor = torch.randn(3, 4, requires_grad=True)
    assert dcnjit.tensor_info(tensor.detach())["data"] == tensor.data_ptr()


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
def test_autograd_function_hands_over_the_callers_tensors(spy, memory_format):  # noqa: F811
    backend = "cpu" if memory_format == torch.contiguous_format else "sim"  # cpu runs nchw only for now
    x, offset, weight, bias, mask = CASE.tensors(torch.float32, seed=31, requires_grad=True)
    if memory_format == torch.channels_last:
        x, offset, mask = (t.detach().contiguous(memory_format=memory_format).requires_grad_(True)
                           for t in (x, offset, mask))
    y = dcn.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, backend=backend)
    (args, kwargs), = spy[0].forward_calls
    assert args[:3] == [x.data_ptr(), offset.data_ptr(), weight.data_ptr()]
    assert (kwargs["mask"], kwargs["bias"]) == (mask.data_ptr(), bias.data_ptr())
    assert args[3] == y.data_ptr()  # the output is written where it is returned

    grad_y = torch.randn(y.shape).contiguous(memory_format=memory_format)
    y.backward(grad_y)
    (args, kwargs), = spy[0].backward_calls
    assert args[3] == grad_y.data_ptr()  # a dense grad_output is not copied
    # The gradients are computed where autograd then finds them.
    assert (kwargs["grad_x"], kwargs["grad_offset"]) == (x.grad.data_ptr(), offset.grad.data_ptr())
    assert (kwargs["grad_mask"], kwargs["grad_weight"]) == (mask.grad.data_ptr(), weight.grad.data_ptr())


def test_out_is_written_in_place():
    tensors = CASE.tensors(torch.float32, seed=32)
    out = torch.full((2, 3, 6, 5), float("nan"))
    address = out.data_ptr()
    result = dcnjit.deform_conv2d(*tensors[:4], padding=1, mask=tensors[4], out=out)
    assert result is out and out.data_ptr() == address
    torch.testing.assert_close(out, torchvision.ops.deform_conv2d(*tensors[:4], padding=1, mask=tensors[4]))


def test_plan_backward_overwrites_every_gradient_given():
    tensors = CASE.tensors(torch.float64, seed=33)
    x, offset, weight, bias, mask = tensors
    problem = dcnjit.problem_for(x, offset, weight, bias, padding=1, mask=mask)
    plan = dcnjit.Engine("cpu").plan(problem)
    grad_y = torch.randn(problem.N, problem.Co, problem.Ho, problem.Wo, dtype=torch.float64)
    grads = {name: torch.full_like(t, float("nan")) for name, t in
             (("grad_x", x), ("grad_offset", offset), ("grad_weight", weight), ("grad_bias", bias),
              ("grad_mask", mask))}
    plan.backward(x, offset, weight, grad_y, mask=mask, **grads)

    leaves = [t.clone().requires_grad_(True) for t in tensors]
    torchvision.ops.deform_conv2d(*leaves[:4], padding=1, mask=leaves[4]).backward(grad_y)
    for (name, grad), leaf in zip(grads.items(), (leaves[0], leaves[1], leaves[2], leaves[3], leaves[4])):
        torch.testing.assert_close(grad, leaf.grad, rtol=1e-10, atol=1e-10, msg=lambda m: f"{name}: {m}")


def test_numpy_forward_matches_torch():
    tensors = CASE.tensors(torch.float32, seed=34)
    arrays = [t.numpy() for t in tensors]
    y = dcnjit.deform_conv2d(*arrays[:4], padding=1, mask=arrays[4])
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_allclose(y, dcnjit.deform_conv2d(*tensors[:4], padding=1, mask=tensors[4]).numpy(),
                               rtol=1e-6, atol=1e-6)


def test_read_only_numpy_inputs_are_accepted():
    arrays = [t.numpy() for t in CASE.tensors(torch.float32, seed=35)]
    for array in arrays:
        array.flags.writeable = False
    y = dcnjit.deform_conv2d(*arrays[:4], padding=1, mask=arrays[4])
    assert y.shape == (2, 3, 6, 5)
