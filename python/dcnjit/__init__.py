"""dcnjit: deformable convolution (DCNv1, DCNv2) with generated, tuned kernels.

    import dcnjit
    y = dcnjit.deform_conv2d(x, offset, weight, bias, stride=1, padding=1, mask=mask)  # torchvision's forward

    import dcnjit.torch                               # autograd and nn.Modules (needs torch)
    y = dcnjit.torch.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    layer = dcnjit.torch.DeformConv2dPack(64, 64, 3, padding=1)   # drop-in for nn.Conv2d(64, 64, 3, padding=1)

Settings of the cached engines: set_tuning(), set_cache_path(), set_threads(); an explicit Engine can be
passed to every call instead (engine=...). Errors are dcnjit.Error subclasses that are also the matching
built-in exception (InvalidArgumentError is a ValueError, UnsupportedError a NotImplementedError, IoError an
OSError, the others RuntimeErrors); the message is dcnjit's. The low-level C++ API is here too: Problem,
Engine, Plan (Plan.forward/backward write into arrays given by the caller).
"""

import importlib as _importlib

from ._dcnjit import (CacheError, CompileError, DeviceLostError, Engine, Error, InternalError, InvalidArgumentError,
                      IoError, LaunchError, NoDeviceError, Plan, Problem, UnsupportedError, tensor_info)
from ._engines import (clear_engines, get_engine, set_allow_tf32, set_cache_path, set_deterministic, set_threads,
                       set_tuning, settings)
from ._functional import deform_conv2d, problem_for

__version__ = "0.1.0"

__all__ = [
    "CacheError", "CompileError", "DeviceLostError", "Engine", "Error", "InternalError", "InvalidArgumentError",
    "IoError", "LaunchError", "NoDeviceError", "Plan", "Problem", "UnsupportedError", "clear_engines",
    "deform_conv2d", "get_engine", "problem_for", "set_allow_tf32", "set_cache_path", "set_deterministic",
    "set_threads", "set_tuning", "settings", "tensor_info",
]


def __getattr__(name):
    # dcnjit.torch imports torch; load it only when asked for, so that numpy-only users need no torch.
    if name == "torch":
        return _importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'dcnjit' has no attribute {name!r}")
