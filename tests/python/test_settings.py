"""Engine caching and the settings of cached engines (set_tuning, set_cache_path, set_threads), and an
explicit Engine passed to a call."""

import torch

import dcnjit
import dcnjit.torch as dcn
from cases import Case


def test_engines_are_cached_per_backend_and_settings(tmp_path):
    cpu = dcnjit.get_engine("cpu")
    assert dcnjit.get_engine("cpu") is cpu
    assert dcnjit.get_engine("sim") is not cpu and dcnjit.get_engine("sim").backend == "sim"
    dcnjit.set_tuning("cache_only")
    dcnjit.set_cache_path(tmp_path / "tuning.sqlite")
    dcnjit.set_threads(1)
    tuned = dcnjit.get_engine("cpu")
    assert tuned is not cpu
    assert (tuned.tuning, tuned.cache_path, tuned.threads) == ("cache_only", str(tmp_path / "tuning.sqlite"), 1)
    assert dcnjit.settings() == {"tuning": "cache_only", "tune_budget_s": 20.0,
                                 "cache_path": str(tmp_path / "tuning.sqlite"), "threads": 1, "allow_tf32": False,
                                 "deterministic": False}
    dcnjit.set_tuning("on_first_use", budget_s=0.5)
    assert dcnjit.get_engine("cpu").tune_budget_s == 0.5


def test_tuning_on_first_use_writes_the_database(tmp_path):
    path = tmp_path / "tuning.sqlite"
    dcnjit.set_tuning("on_first_use", budget_s=0.5)
    dcnjit.set_cache_path(path)
    case = Case(N=1, C=2, H=5, W=5, Co=2)
    x, offset, weight, bias, mask = case.tensors(torch.float32, seed=51)
    y = dcnjit.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    assert path.exists() and path.stat().st_size > 0
    # A cache_only engine on the same database now finds the tuned configs and gives the same result.
    dcnjit.set_tuning("cache_only")
    torch.testing.assert_close(dcnjit.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask), y)


def test_explicit_engine_is_used(monkeypatch):
    engine = dcnjit.Engine("cpu", threads=1)
    used = []
    real = dcnjit._engines.plan_for
    monkeypatch.setattr(dcnjit._engines, "plan_for", lambda e, p: used.append(e) or real(e, p))
    x, offset, weight, bias, mask = Case().tensors(torch.float64, seed=52, requires_grad=True)
    dcn.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, engine=engine).sum().backward()
    dcnjit.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, engine=engine)
    assert used == [engine, engine]


def test_plans_are_made_once_per_problem():
    engine = dcnjit.Engine("cpu")
    problem = dcnjit.Problem.parse("N1 C2 H5 W5 Co2 k3x3 p1x1")
    assert dcnjit._engines.plan_for(engine, problem) is dcnjit._engines.plan_for(engine, problem)


def test_problem_and_plan_objects():
    problem = dcnjit.Problem.parse("N2 C4 H6 W5 Co3 k3x3 p1x1 mask bias f64 nhwc")
    assert (problem.N, problem.C, problem.Ho, problem.Wo, problem.layout, problem.dtype) == (2, 4, 6, 5, "nhwc", "f64")
    assert dcnjit.Problem.parse(str(problem)) == problem
    problem.layout = "nchw"
    plan = dcnjit.Engine("cpu").plan(problem, "im2col step=1")
    assert plan.config.startswith("im2col step=1") and plan.backend == "cpu" and plan.workspace_size > 0


def test_allow_tf32_setting_and_torchs_switch(monkeypatch):
    assert not dcnjit.get_engine("sim").allow_tf32
    dcnjit.set_allow_tf32(True)
    assert dcnjit.get_engine("sim").allow_tf32
    case = Case(N=1, C=4, H=6, W=6, Co=3)
    x, offset, weight, bias, mask = case.tensors(torch.float32, seed=53)
    # dcnjit.torch follows torch.backends.cuda.matmul.allow_tf32, whatever dcnjit's setting says.
    dcnjit.set_allow_tf32(False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    exact = dcn.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, backend="sim")
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", True)
    tf32 = dcn.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask, backend="sim")
    assert dcnjit.get_engine("sim", allow_tf32=True).allow_tf32
    # TF32 rounds the GEMM operands to 10 mantissa bits: the result moves, by about 1e-3 relative at most.
    assert not torch.equal(tf32, exact)
    torch.testing.assert_close(tf32, exact, rtol=2e-3, atol=2e-3 * exact.abs().max().item())
