"""dcnjit.deform_conv2d: torchvision.ops.deform_conv2d's forward on any DLPack array (torch, numpy, cupy).

The arrays are handed to the C++ API as views of their memory (no copies); the output is allocated by the
input's own framework in the input's memory format, or written into `out`.
"""

import importlib
import operator

from . import _engines
from ._dcnjit import InvalidArgumentError, infer_problem

_DLPACK_CPU, _DLPACK_CUDA = 1, 2


def pair(name, value):
    """torchvision's int-or-pair arguments (stride, padding, dilation) as an (h, w) tuple of ints."""
    try:
        values = (operator.index(value),) * 2
    except TypeError:
        try:
            values = tuple(operator.index(v) for v in value)
        except TypeError:
            values = ()
    if len(values) != 2:
        raise InvalidArgumentError(f"{name}: expected an int or a pair of ints, got {value!r}")
    return values


def framework(array):
    """The top-level module of an array's type: "torch", "numpy", "cupy", ..."""
    return type(array).__module__.split(".")[0]


def dlpack_view(name, array):
    """`array` as something the extension can import through DLPack, without copying it."""
    if array is None:
        return None
    if not hasattr(array, "__dlpack__"):
        raise TypeError(f"{name}: expected a tensor or array supporting DLPack (torch, numpy, cupy), "
                        f"got {type(array).__name__}")
    # torch refuses to export tensors that require grad; detach() is a view of the same memory.
    if framework(array) == "torch" and array.requires_grad:
        return array.detach()
    return array


def placement(array):
    """(DLPack device type, ordinal)."""
    return tuple(array.__dlpack_device__())


def resolve_engine(engine, backend, algorithm, device, allow_tf32=None, deterministic=None):
    """The engine a call runs on: the caller's, else the cached one for the tensors' device (allow_tf32 and
    deterministic None: the settings)."""
    if engine is not None:
        if backend is not None or algorithm is not None:
            raise InvalidArgumentError("engine: pass either an engine or backend/algorithm, not both")
        return engine
    device_type, device_id = device
    if backend is None:
        backend = "cuda" if device_type == _DLPACK_CUDA else "cpu"
    return _engines.get_engine(backend, device_id if device_type == _DLPACK_CUDA else 0, algorithm, allow_tf32,
                               deterministic)


def current_stream(array):
    """The caller's current CUDA stream for a CUDA array (0 otherwise), as an int CUstream."""
    if placement(array)[0] != _DLPACK_CUDA:
        return 0
    kind = framework(array)
    if kind == "torch":
        import torch
        return torch.cuda.current_stream(array.device).cuda_stream
    if kind == "cupy":
        import cupy
        with cupy.cuda.Device(placement(array)[1]):
            return cupy.cuda.get_current_stream().ptr
    return 0


def empty(like, shape, layout):
    """An uninitialized array of `like`'s framework, dtype and device, dense in `layout` ("nchw"/"nhwc")."""
    kind = framework(like)
    if kind == "torch":
        import torch
        memory_format = torch.channels_last if layout == "nhwc" and len(shape) == 4 else torch.contiguous_format
        return torch.empty(shape, dtype=like.dtype, device=like.device, memory_format=memory_format)
    xp = importlib.import_module(kind)  # numpy, cupy: the array API of the module the type comes from
    if layout == "nhwc" and len(shape) == 4:
        n, c, h, w = shape
        return xp.empty((n, h, w, c), dtype=like.dtype).transpose(0, 3, 1, 2)
    return xp.empty(shape, dtype=like.dtype)


def workspace(like, plan, engine):
    """Scratch for a cuda plan, from the caller's framework (stream-ordered for torch); None elsewhere, where
    the plan keeps its own."""
    if engine.backend != "cuda" or plan.workspace_size == 0 or framework(like) != "torch":
        return None
    import torch
    return torch.empty(plan.workspace_size, dtype=torch.uint8, device=like.device)


def problem_for(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None, *, boundary="v2"):
    """The dcnjit.Problem that deform_conv2d would run for these arguments (layout from the strides)."""
    return infer_problem(dlpack_view("input", input), dlpack_view("offset", offset), dlpack_view("weight", weight),
                         dlpack_view("bias", bias), pair("stride", stride), pair("padding", padding),
                         pair("dilation", dilation), dlpack_view("mask", mask), boundary)


def output_shape(problem):
    return (problem.N, problem.Co, problem.Ho, problem.Wo)


def deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None, *, boundary="v2",
                  backend=None, algorithm=None, engine=None, out=None):
    """Deformable convolution, exactly torchvision.ops.deform_conv2d (docs/semantics.md), forward only.

    input [N, C, H, W], offset [N, 2*offset_groups*kh*kw, Ho, Wo], weight [Co, C/groups, kh, kw], bias [Co],
    mask [N, offset_groups*kh*kw, Ho, Wo] (DCNv2); groups come from the weight's shape and offset groups from
    the offset's. Arrays may be torch tensors, numpy or cupy arrays (any DLPack producer) of float32, float16,
    bfloat16 or float64, all contiguous (NCHW) or all channels_last (NHWC memory); they are read in place.

    boundary: "v2" (torchvision, mmcv) or "v1" (MXNet DCNv1, the TensorFlow ports). backend: "cpu", "sim" or
    "cuda" (default: cuda for CUDA tensors, else cpu); algorithm: restrict to one ("im2col"); engine: a
    dcnjit.Engine to run on instead of the cached one. out: an output array to write into (dense in the
    inputs' memory format). CUDA work is queued on the caller's current stream.

    For autograd use dcnjit.torch.deform_conv2d.
    """
    views = [dlpack_view(name, a) for name, a in
             (("input", input), ("offset", offset), ("weight", weight), ("bias", bias), ("mask", mask))]
    x, offset_v, weight_v, bias_v, mask_v = views
    problem = infer_problem(x, offset_v, weight_v, bias_v, pair("stride", stride), pair("padding", padding),
                            pair("dilation", dilation), mask_v, boundary)
    engine = resolve_engine(engine, backend, algorithm, placement(x))
    plan = _engines.plan_for(engine, problem)
    y = empty(x, output_shape(problem), problem.layout) if out is None else out
    plan.forward(x, offset_v, weight_v, dlpack_view("out", y), mask=mask_v, bias=bias_v, stream=current_stream(x),
                 workspace=workspace(x, plan, engine))
    return y
