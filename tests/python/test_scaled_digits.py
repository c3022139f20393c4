"""The scaled-digits experiment (examples/scaled_digits/reproduce.py), shortened (--quick: 2 + 1 epochs):
it runs end to end on the cpu backend and writes results.json in the documented form and the picture."""

import json
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "examples" / "scaled_digits" / "reproduce.py"


def test_quick_run_writes_results_and_picture(tmp_path):
    completed = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--quick"], capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"regular_cnn", "deformable_cnn"}
    for network in results.values():
        assert set(network) == {"regular", "scaled"}
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in network.values())
    # Even two epochs learn the digits (chance is 0.1); the full run's targets are in the README.
    assert results["regular_cnn"]["regular"] > 0.5
    picture = (tmp_path / "sampling_locations.png").read_bytes()
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 10_000
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["quick"] is True and run["dcnjit_backend"] == "cpu"
