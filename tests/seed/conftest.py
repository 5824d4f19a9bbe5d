"""Compatibility with MLFF-Distiller: its own trained students, read from the ONNX files in
$MLFF_SEED_DIR/models (and exported by the test set-up into $MLFF_SEED_MODELS). Without
MLFF_SEED_DIR every test here is skipped, and says why."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lammps"))  # the LAMMPS harness


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("MLFF_SEED_DIR"):
        for item in items:
            item.add_marker(pytest.mark.skip(reason="MLFF_SEED_DIR is not set"))
