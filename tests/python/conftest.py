"""pytest setup for the dcnjit Python package: the package must be importable (PYTHONPATH=build/python after
scripts/build.sh, or `pip install .`), and engines write their tuning database and compiled sim kernels to a
temporary directory unless DCNJIT_CACHE is already set."""

import os

import pytest

try:
    import dcnjit
except ImportError as error:  # an error, not a skip: a suite that cannot import the package has not passed
    raise pytest.UsageError(f"cannot import dcnjit ({error}); build it with scripts/build.sh and run pytest with "
                            "PYTHONPATH=build/python (scripts/test.sh does), or pip install .") from error


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    if not os.environ.get("DCNJIT_CACHE"):
        os.environ["DCNJIT_CACHE"] = str(tmp_path_factory.mktemp("dcnjit-cache") / "cache.sqlite")
    yield
    dcnjit.clear_engines()


@pytest.fixture(autouse=True)
def default_settings():
    """Each test starts from the default settings of the cached engines."""
    saved = dcnjit.settings()
    yield
    dcnjit.set_tuning(saved["tuning"], saved["tune_budget_s"])
    dcnjit.set_cache_path(saved["cache_path"])
    dcnjit.set_threads(saved["threads"])
    dcnjit.set_allow_tf32(saved["allow_tf32"])
    dcnjit.set_deterministic(saved["deterministic"])
