"""The engines and plans that dcnjit.deform_conv2d and dcnjit.torch use, and the settings they are made with.

An Engine (a backend, its binary cache and tuning database) is costly to make and a Plan may tune, so both
are cached: engines per (backend, device, algorithm, TF32 switch, settings), plans per (engine, problem).
Changing a setting makes the next call build a new engine with it; engines already handed out keep theirs.
"""

import atexit
import os
import threading
import weakref

from ._dcnjit import Engine, InvalidArgumentError

_TUNING_POLICIES = ("off", "on_first_use", "cache_only")

_lock = threading.RLock()
_settings = {"tuning": "off", "tune_budget_s": 20.0, "cache_path": None, "threads": 0, "allow_tf32": False,
             "deterministic": False}
_engines = {}
_plans = weakref.WeakKeyDictionary()  # Engine -> {problem text: Plan}


def set_tuning(policy, budget_s=None):
    """How cached engines choose configs: "off" (the heuristic default; the default), "on_first_use" (look up the
    tuning database, tune and store on a miss, about budget_s seconds per problem and pass) or "cache_only"
    (use the database's winners, never tune)."""
    if policy not in _TUNING_POLICIES:
        raise InvalidArgumentError(f"tuning: unknown policy {policy!r} (one of {', '.join(_TUNING_POLICIES)})")
    if budget_s is not None and not budget_s > 0:
        raise InvalidArgumentError(f"budget_s: must be a positive number of seconds, got {budget_s!r}")
    with _lock:
        _settings["tuning"] = policy
        if budget_s is not None:
            _settings["tune_budget_s"] = float(budget_s)


def set_cache_path(path):
    """The tuning database (SQLite) of cached engines; None restores the default ($DCNJIT_CACHE, else
    $XDG_CACHE_HOME/dcnjit/cache.sqlite, else ~/.cache/dcnjit/cache.sqlite)."""
    with _lock:
        _settings["cache_path"] = None if path is None else os.fspath(path)


def set_threads(threads):
    """CPU threads of cached cpu and sim engines; 0 (the default) uses every core."""
    if not isinstance(threads, int) or threads < 0:
        raise InvalidArgumentError(f"threads: expected a non-negative int, got {threads!r}")
    with _lock:
        _settings["threads"] = threads


def set_allow_tf32(allow):
    """Whether f32 GEMMs of cached engines may use TF32 tensor cores (cuda and sim; about 1e-3 relative error),
    like torch.backends.cuda.matmul.allow_tf32. Default False: exact f32. dcnjit.torch follows torch's own
    switch instead (as torchvision's deform_conv2d, whose GEMMs are torch matmuls, does)."""
    if not isinstance(allow, bool):
        raise InvalidArgumentError(f"allow_tf32: expected a bool, got {allow!r}")
    with _lock:
        _settings["allow_tf32"] = allow


def set_deterministic(deterministic):
    """Whether cached engines give bit-identical results from run to run (no floating-point atomics), like
    torch.use_deterministic_algorithms. Default False. dcnjit.torch follows torch's own switch instead."""
    if not isinstance(deterministic, bool):
        raise InvalidArgumentError(f"deterministic: expected a bool, got {deterministic!r}")
    with _lock:
        _settings["deterministic"] = deterministic


def settings():
    """The settings new cached engines are made with (a copy)."""
    with _lock:
        return dict(_settings)


def get_engine(backend="cpu", device=0, algorithm=None, allow_tf32=None, deterministic=None):
    """The cached Engine for a backend ("cpu", "sim" or "cuda"), CUDA device ordinal and algorithm (None: any)
    under the current settings; allow_tf32 and deterministic None: the settings."""
    with _lock:
        tf32 = _settings["allow_tf32"] if allow_tf32 is None else bool(allow_tf32)
        fixed = _settings["deterministic"] if deterministic is None else bool(deterministic)
        key = (backend, device, algorithm, tf32, fixed, tuple(sorted(_settings.items())))
        engine = _engines.get(key)
        if engine is None:
            engine = Engine(backend, threads=_settings["threads"], cache_path=_settings["cache_path"],
                            tuning=_settings["tuning"], tune_budget_s=_settings["tune_budget_s"], device=device,
                            algorithm=algorithm, allow_tf32=tf32, deterministic=fixed)
            _engines[key] = engine
        return engine


def clear_engines():
    """Forgets every cached engine and plan (their memory is freed once no caller holds them)."""
    with _lock:
        _engines.clear()
        _plans.clear()


# Close the cached engines' databases before the interpreter tears the extension down.
atexit.register(clear_engines)


def plan_for(engine, problem):
    """engine.plan(problem), made once per engine and problem."""
    with _lock:
        plans = _plans.setdefault(engine, {})
        key = str(problem)
        plan = plans.get(key)
        if plan is None:
            plan = engine.plan(problem)
            plans[key] = plan
        return plan
