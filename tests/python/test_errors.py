"""Bad input raises a Python exception that carries dcnjit's message naming the argument at fault:
InvalidArgumentError (a ValueError) for invalid arguments, the other dcnjit codes as documented in
python/src/exceptions.h."""

import numpy as np
import pytest
import torch

import dcnjit
import dcnjit.torch as dcn
from cases import Case

CASE = Case(N=2, C=4, H=6, W=5, Co=3)


def tensors(dtype=torch.float32):
    return CASE.tensors(dtype, seed=41)


def call(x, offset, weight, bias=None, mask=None, **kwargs):
    kwargs.setdefault("padding", 1)
    return dcnjit.deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs)


def test_exception_classes():
    assert issubclass(dcnjit.InvalidArgumentError, ValueError)
    assert issubclass(dcnjit.UnsupportedError, NotImplementedError)
    assert issubclass(dcnjit.IoError, OSError)
    for cls in (dcnjit.NoDeviceError, dcnjit.CompileError, dcnjit.LaunchError, dcnjit.DeviceLostError,
                dcnjit.CacheError, dcnjit.InternalError):
        assert issubclass(cls, RuntimeError)
    for cls, code in ((dcnjit.InvalidArgumentError, "InvalidArgument"), (dcnjit.UnsupportedError, "Unsupported"),
                      (dcnjit.NoDeviceError, "NoDevice"), (dcnjit.IoError, "IoError"),
                      (dcnjit.DeviceLostError, "DeviceLost")):
        assert issubclass(cls, dcnjit.Error) and cls.code == code


def test_offset_channels_not_a_multiple_of_taps():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match=r"offset: 17 channels is not a positive multiple of 2\*kh\*kw = 18"):
        call(x, offset[:, :17], weight, bias, mask)


def test_offset_spatial_shape_is_checked_against_the_problem():
    x, offset, weight, bias, mask = tensors()
    expected = r"offset: expected shape \[2, 18, 6, 5\] .* got \[2, 18, 6, 4\]"
    with pytest.raises(dcnjit.InvalidArgumentError, match=expected):
        call(x, offset[..., :4].contiguous(), weight, bias, None)


def test_mask_shape():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match=r"mask: expected shape \[2, 9, 6, 5\]"):
        call(x, offset, weight, bias, mask[:, :8].contiguous())


def test_weight_channels_do_not_divide_input_channels():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match=r"weight: shape \[3, 3, 3, 3\] has 3 input channels per group, which does "
                                         r"not divide the input's 4 channels"):
        call(x, offset, torch.randn(3, 3, 3, 3), bias, mask)


def test_dtype_mismatch_names_the_tensor():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match="offset: dtype f64 does not match the problem's dtype f32"):
        call(x, offset.double(), weight, bias, mask)


def test_unsupported_dtype():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match="input: dtype int64 is not supported"):
        call(x.long(), offset, weight, bias, mask)


def test_mixed_layouts_name_the_tensor():
    x, offset, weight, bias, mask = tensors()
    x_cl = x.contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match=r"offset: is contiguous \(NCHW\) but input is channels_last"):
        call(x_cl, offset, weight, bias, mask)
    offset_cl = offset.contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match=r"mask: is contiguous \(NCHW\) but input is channels_last"):
        call(x_cl, offset_cl, weight, bias, mask)


def test_non_dense_tensor_is_refused_not_copied():
    x, offset, weight, bias, mask = tensors()
    wide = torch.randn(2, 4, 6, 10)
    with pytest.raises(ValueError, match=r"input: neither contiguous \(NCHW\) nor channels_last"):
        call(wide[..., ::2], offset, weight, bias, mask)


def test_weight_must_be_contiguous_in_the_plain_function():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match="weight: only dense tensors are supported"):
        call(x, offset, weight.contiguous(memory_format=torch.channels_last), bias, mask)


def test_bad_geometry_arguments():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match="stride: expected an int or a pair of ints"):
        call(x, offset, weight, bias, mask, stride=(1, 1, 1))
    with pytest.raises(ValueError, match="stride_h=0 must be positive|stride_h"):
        call(x, offset, weight, bias, mask, stride=(0, 1))


def test_bad_boundary_backend_and_algorithm():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match="boundary|v3"):
        call(x, offset, weight, bias, mask, boundary="v3")
    with pytest.raises(ValueError, match="backend: 'gpu' is not one of cpu, cuda, sim"):
        call(x, offset, weight, bias, mask, backend="gpu")
    # (The sim engine checks the algorithm when it is made; the cpu backend, with one algorithm, ignores it.)
    with pytest.raises(ValueError, match="nonexistent"):
        call(x, offset, weight, bias, mask, backend="sim", algorithm="nonexistent")


def test_cpu_tensors_on_the_cuda_backend():
    x, offset, weight, bias, mask = tensors()
    # Without a GPU the engine cannot start (NoDeviceError); with one, the tensors are on the wrong device.
    with pytest.raises((dcnjit.NoDeviceError, dcnjit.InvalidArgumentError), match="no CUDA|NVIDIA|driver|cuda"):
        call(x, offset, weight, bias, mask, backend="cuda")


def test_not_an_array():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(TypeError, match="offset: expected a tensor or array supporting DLPack"):
        call(x, offset.tolist(), weight, bias, mask)
    with pytest.raises(TypeError, match="weight: expected a torch.Tensor, got ndarray"):
        dcn.deform_conv2d(x, offset, weight.numpy(), bias, padding=1, mask=mask)


def test_numpy_and_torch_mixed_on_one_device_work_but_rank_is_checked():
    x, offset, weight, bias, mask = tensors()
    with pytest.raises(ValueError, match=r"bias: expected a 1-d tensor \[Co\], got shape \[3, 1\]"):
        call(x, offset, weight, bias[:, None], mask)
    y = call(x.numpy(), offset.numpy(), weight, bias, mask.numpy())
    assert isinstance(y, np.ndarray)


def test_engine_and_settings_errors():
    with pytest.raises(ValueError, match="tuning: unknown policy 'always'"):
        dcnjit.set_tuning("always")
    with pytest.raises(ValueError, match="tuning: unknown policy 'always'"):
        dcnjit.Engine("cpu", tuning="always")
    with pytest.raises(ValueError, match="threads"):
        dcnjit.set_threads(-1)
    problem = dcnjit.Problem.parse("N1 C2 H5 W5 Co2 k3x3 p1x1")
    with pytest.raises(ValueError, match="step"):
        dcnjit.Engine("cpu").plan(problem, "im2col step=banana")
    with pytest.raises(ValueError, match="engine: pass either an engine or backend/algorithm"):
        x, offset, weight, bias, mask = tensors()
        call(x, offset, weight, bias, mask, engine=dcnjit.get_engine("cpu"), backend="cpu")


def test_unusable_cache_path_warns_naming_it_and_falls_back(tmp_path, capfd):
    # dcnjit keeps running on heuristic configs when its tuning database cannot be opened (a warning on
    # stderr names the file), so a read-only home never breaks a model.
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    engine = dcnjit.Engine("cpu", tuning="on_first_use", tune_budget_s=0.5, cache_path=str(blocker / "db.sqlite"))
    plan = engine.plan(dcnjit.Problem.parse("N1 C2 H5 W5 Co2 k3x3 p1x1"))
    assert plan.config.startswith("im2col")
    assert str(blocker / "db.sqlite") in capfd.readouterr().err
