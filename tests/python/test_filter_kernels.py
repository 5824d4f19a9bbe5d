"""bench/notes/filter_kernels.py times the filter read from tables against the filter recomputed on
tensor cores; before timing it checks both kernels against the model's own filter. That check
runs here in Triton's interpreter, so the benchmark's kernels stay correct without a GPU."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_both_filter_kernels_give_the_models_filter():
    env = {
        **os.environ,
        "TRITON_INTERPRET": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/notes/filter_kernels.py"),
            "--check-only",
            "--blocks",
            "16,64",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("recomputed") == 4
