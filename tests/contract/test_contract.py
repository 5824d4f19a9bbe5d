"""The model file contract is written once in doc/model_format.md and mirrored by
src/model/contract.h and python/mlff_student/deploy/contract.py: the three must agree."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import torch

from mlff_student import StudentConfig, StudentForceField
from mlff_student.deploy import contract
from mlff_student.deploy.export import export_torchscript, read_metadata

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cpp_contract():
    program = os.environ.get("MLFF_PRINT_CONTRACT")
    if not program:
        pytest.skip("MLFF_PRINT_CONTRACT is not set (ctest sets it)")
    return json.loads(subprocess.run([program], check=True, capture_output=True, text=True).stdout)


def test_cpp_and_python_state_the_same_contract(cpp_contract):
    python = contract.as_dict()
    differing = {
        k: (cpp_contract.get(k), python.get(k))
        for k in python | cpp_contract
        if cpp_contract.get(k) != python.get(k)
    }
    assert not differing, f"src/model/contract.h and deploy/contract.py differ: {differing}"


def test_the_document_names_every_key_and_entry():
    text = (ROOT / "doc" / "model_format.md").read_text()
    names = [
        *contract.REQUIRED_KEYS,
        *contract.OPTIONAL_KEYS,
        *contract.TORCHSCRIPT_METHODS,
        *contract.INPUTS,
        *contract.OUTPUTS,
        contract.METADATA_NAME,
        contract.GHOST_FEATURES_OP,
        contract.GHOST_GRADIENTS_OP,
    ]
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"doc/model_format.md does not name {missing}"
    version = re.search(r"format version (\d+)", text)
    assert version and int(version.group(1)) == contract.FORMAT_VERSION


def test_exported_files_follow_the_contract(tmp_path):
    config = StudentConfig(hidden_dim=8, num_interactions=2, num_rbf=4, max_z=10)
    path = tmp_path / "tiny.pt"
    export_torchscript(StudentForceField(config), path)
    meta = read_metadata(path)
    assert set(meta) <= set(contract.REQUIRED_KEYS) | set(contract.OPTIONAL_KEYS) | {
        "num_rbf",
        "mixing",
        "smooth_cutoff",
    }
    assert all(k in meta for k in contract.REQUIRED_KEYS)
    assert int(meta["format_version"]) == contract.FORMAT_VERSION
    assert int(meta["exchange_values"]) > 0
    module = torch.jit.load(str(path))
    assert all(hasattr(module, m) for m in contract.TORCHSCRIPT_METHODS)
