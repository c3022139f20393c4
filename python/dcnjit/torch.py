"""dcnjit for PyTorch: autograd and nn.Modules over the C++ engine.

deform_conv2d      torchvision.ops.deform_conv2d with autograd: the backward computes only the gradients
                   that autograd asks for (needs_input_grad), in one call of the C++ backward.
DeformConv2d       torchvision.ops.DeformConv2d (same parameters and initialization); forward(input,
                   offset, mask=None).
DeformConv2dPack   owns its offset convolution (zero-initialized: at first it computes exactly what an
                   nn.Conv2d with the same weights computes), like mmcv's DeformConv2dPack; with
                   modulated=True also a mask convolution through a sigmoid (ModulatedDeformConv2dPack,
                   mmcv's DCNv2 layer). DeformConv2dPack.from_conv2d(conv) swaps an nn.Conv2d.

Tensors are read in place: all activations contiguous or all channels_last. Two copies are made on purpose:
a weight that is not contiguous (model.to(memory_format=torch.channels_last) makes 4-d weights
channels_last; the C++ API takes weights contiguous) and a grad_output that is not dense in the layout
(autograd often hands over expanded gradients).
"""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from . import _engines
from . import _functional as functional
from ._dcnjit import InvalidArgumentError, infer_problem

__all__ = ["deform_conv2d", "DeformConv2d", "DeformConv2dPack", "ModulatedDeformConv2dPack"]


def _memory_format(layout):
    return torch.channels_last if layout == "nhwc" else torch.contiguous_format


def _dense(tensor, layout):
    """tensor if it is dense in layout, else a dense copy."""
    if tensor.is_contiguous(memory_format=_memory_format(layout)):
        return tensor
    return tensor.contiguous(memory_format=_memory_format(layout))


class _DeformConv2dFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, input, offset, weight, bias, mask, stride, padding, dilation, boundary, engine):
        input, offset, bias, mask = (None if t is None else t.detach() for t in (input, offset, bias, mask))
        weight = weight.detach().contiguous()
        problem = infer_problem(input, offset, weight, bias, stride, padding, dilation, mask, boundary)
        plan = _engines.plan_for(engine, problem)
        y = functional.empty(input, functional.output_shape(problem), problem.layout)
        plan.forward(input, offset, weight, y, mask=mask, bias=bias, stream=functional.current_stream(input),
                     workspace=functional.workspace(input, plan, engine))
        ctx.save_for_backward(input, offset, weight, mask)
        ctx.plan, ctx.engine, ctx.has_bias = plan, engine, bias is not None
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        input, offset, weight, mask = ctx.saved_tensors
        want_input, want_offset, want_weight, want_bias, want_mask = ctx.needs_input_grad[:5]
        want_bias = want_bias and ctx.has_bias
        want_mask = want_mask and mask is not None
        if not (want_input or want_offset or want_weight or want_bias or want_mask):
            return (None,) * 10
        plan = ctx.plan
        grad_y = _dense(grad_y, plan.problem.layout)
        # empty_like keeps the strides of a dense tensor, so the gradients come out in the inputs' layout.
        grad_x = torch.empty_like(input) if want_input else None
        grad_offset = torch.empty_like(offset) if want_offset else None
        grad_mask = torch.empty_like(mask) if want_mask else None
        grad_weight = torch.empty_like(weight) if want_weight else None
        grad_bias = input.new_empty(weight.shape[0]) if want_bias else None
        plan.backward(input, offset, weight, grad_y, mask=mask, grad_x=grad_x, grad_offset=grad_offset,
                      grad_mask=grad_mask, grad_weight=grad_weight, grad_bias=grad_bias,
                      stream=functional.current_stream(input), workspace=functional.workspace(input, plan, ctx.engine))
        return grad_x, grad_offset, grad_weight, grad_bias, grad_mask, None, None, None, None, None


def deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None, *, boundary="v2",
                  backend=None, algorithm=None, engine=None):
    """torchvision.ops.deform_conv2d with autograd (dcnjit.deform_conv2d's arguments; torch tensors only).

    The backward computes only the gradients autograd needs; double backward is not supported.
    """
    for name, tensor in (("input", input), ("offset", offset), ("weight", weight), ("bias", bias), ("mask", mask)):
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    # TF32 as torch decides it for matmuls (torchvision's deform_conv2d runs its GEMMs as torch matmuls), and
    # determinism as torch.use_deterministic_algorithms asks.
    engine = functional.resolve_engine(engine, backend, algorithm, functional.placement(input),
                                       allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                                       deterministic=torch.are_deterministic_algorithms_enabled())
    return _DeformConv2dFunction.apply(input, offset, weight, bias, mask, functional.pair("stride", stride),
                                       functional.pair("padding", padding), functional.pair("dilation", dilation),
                                       boundary, engine)


class DeformConv2d(nn.Module):
    """torchvision.ops.DeformConv2d on dcnjit: same arguments, parameters and initialization, forward(input,
    offset, mask=None). boundary, backend and algorithm as in deform_conv2d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 *, boundary="v2", backend=None, algorithm=None):
        super().__init__()
        if in_channels % groups != 0:
            raise InvalidArgumentError(f"in_channels: {in_channels} is not divisible by groups = {groups}")
        if out_channels % groups != 0:
            raise InvalidArgumentError(f"out_channels: {out_channels} is not divisible by groups = {groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = functional.pair("kernel_size", kernel_size)
        self.stride = functional.pair("stride", stride)
        self.padding = functional.pair("padding", padding)
        self.dilation = functional.pair("dilation", dilation)
        self.boundary, self.backend, self.algorithm = boundary, backend, algorithm
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # nn.Conv2d's (and torchvision's) initialization, in the same order of random draws.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input, offset, mask=None):
        return deform_conv2d(input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask,
                             boundary=self.boundary, backend=self.backend, algorithm=self.algorithm)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}")
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.boundary != "v2":
            text += f", boundary={self.boundary!r}"
        if self.backend is not None:
            text += f", backend={self.backend!r}"
        return text


def _conv2d_padding(conv):
    if conv.padding_mode != "zeros":
        raise InvalidArgumentError(f"conv: padding_mode {conv.padding_mode!r} is not supported (only 'zeros')")
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        if conv.stride != (1, 1) or any((d * (k - 1)) % 2 for d, k in zip(conv.dilation, conv.kernel_size)):
            raise InvalidArgumentError("conv: padding='same' needs stride 1 and an odd effective kernel size here")
        return tuple(d * (k - 1) // 2 for d, k in zip(conv.dilation, conv.kernel_size))
    return tuple(conv.padding)


class DeformConv2dPack(DeformConv2d):
    """A deformable drop-in for nn.Conv2d: forward(input) predicts the offsets with its own convolution
    (`conv_offset`, same kernel, stride, padding and dilation, 2*offset_groups*kh*kw outputs), initialized to
    zero so that a fresh layer computes the plain convolution. modulated=True adds `conv_mask`
    (offset_groups*kh*kw outputs, zero-initialized, through a sigmoid: 0.5 at first, as in mmcv).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 *, offset_groups=1, modulated=False, boundary="v2", backend=None, algorithm=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         boundary=boundary, backend=backend, algorithm=algorithm)
        if offset_groups < 1 or in_channels % offset_groups != 0:
            raise InvalidArgumentError(f"offset_groups: {offset_groups} does not divide in_channels = {in_channels}")
        self.offset_groups, self.modulated = offset_groups, modulated
        taps = self.kernel_size[0] * self.kernel_size[1]

        def zero_conv(outputs):
            conv = nn.Conv2d(in_channels, outputs, self.kernel_size, self.stride, self.padding, self.dilation)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            return conv

        self.conv_offset = zero_conv(2 * offset_groups * taps)
        self.conv_mask = zero_conv(offset_groups * taps) if modulated else None

    @classmethod
    def from_conv2d(cls, conv, **kwargs):
        """A layer with conv's geometry and a copy of its weight and bias (keyword arguments as __init__'s:
        offset_groups, modulated, boundary, backend, algorithm)."""
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, _conv2d_padding(conv),
                    conv.dilation, conv.groups, conv.bias is not None, **kwargs)
        layer = layer.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(conv.weight)
            if conv.bias is not None:
                layer.bias.copy_(conv.bias)
        return layer

    def offset_and_mask(self, input):
        """The offsets (and mask) this layer samples input with."""
        offset = self.conv_offset(input)
        mask = torch.sigmoid(self.conv_mask(input)) if self.modulated else None
        return offset, mask

    def forward(self, input):
        offset, mask = self.offset_and_mask(input)
        return super().forward(input, offset, mask)

    def extra_repr(self):
        text = super().extra_repr()
        if self.offset_groups != 1:
            text += f", offset_groups={self.offset_groups}"
        return text + (", modulated=True" if self.modulated else "")


class ModulatedDeformConv2dPack(DeformConv2dPack):
    """DeformConv2dPack with the modulation mask (DCNv2), like mmcv's ModulatedDeformConv2dPack."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("modulated", True)
        super().__init__(*args, **kwargs)
