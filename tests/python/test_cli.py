"""The command line: one line per error, no code run from checkpoints, the device this machine
has, and metadata read without loading a file's code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mlff_student import cli
from mlff_student.deploy.export import export_torchscript, read_metadata
from mlff_student.model.student import StudentConfig, StudentForceField

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "potentials" / "student_gfn2.ckpt"


def run_cli(*args: str, cwd: Path | None = None):
    # The repository's package first, then whatever else the environment provides (ASE, say).
    path = [str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    return subprocess.run(
        [sys.executable, "-m", "mlff_student", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def assert_one_line_error(proc, *words: str):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlff_student "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_missing_file_is_one_line(tmp_path):
    assert_one_line_error(
        run_cli("export", str(tmp_path / "nothing.ckpt"), "-o", "x.pt"), "no such file"
    )
    assert_one_line_error(run_cli("inspect", str(tmp_path / "nothing.pt")), "no such file")


def test_a_partial_checkpoint_is_one_line(tmp_path):
    ckpt = torch.load(SHIPPED, weights_only=True)
    del ckpt["model_state_dict"]["energy_head.0.weight"]
    torch.save(ckpt, tmp_path / "partial.ckpt")
    assert_one_line_error(
        run_cli("export", str(tmp_path / "partial.ckpt"), "-o", "x.pt"),
        "missing",
        "energy_head.0.weight",
    )


def test_a_corrupt_onnx_file_is_one_line(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(os.urandom(4096))
    assert_one_line_error(
        run_cli("export", str(tmp_path / "broken.onnx"), "-o", "x.pt"), "not a readable ONNX file"
    )


class Payload:
    """What a hostile checkpoint carries: unpickling it would create a file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_is_never_unpickled_beyond_tensors(tmp_path):
    marker = tmp_path / "code_ran"
    ckpt = torch.load(SHIPPED, weights_only=True)
    ckpt["extra"] = Payload(str(marker))
    torch.save(ckpt, tmp_path / "hostile.ckpt")
    proc = run_cli("export", str(tmp_path / "hostile.ckpt"), "-o", str(tmp_path / "x.pt"))
    assert_one_line_error(proc, "not loaded")
    assert not marker.exists()


def test_export_refuses_a_package_name(tmp_path):
    proc = run_cli("export", str(SHIPPED), "-o", str(tmp_path / "model.pt2"))
    assert proc.returncode == 2 and "made by compile" in proc.stderr
    assert not (tmp_path / "model.pt2").exists()


def test_compile_picks_the_device_this_machine_has(tmp_path, monkeypatch):
    chosen = {}
    monkeypatch.setattr(
        cli,
        "compile_aoti",
        lambda model, out, device, *rest: chosen.setdefault("device", device) and {},
    )
    assert cli.main(["compile", str(SHIPPED), "-o", str(tmp_path / "m.pt2")]) == 0
    assert chosen["device"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_files_record_the_trained_elements_and_inspect_reads_them(tmp_path):
    model = StudentForceField(
        StudentConfig(hidden_dim=8, num_interactions=1, num_rbf=4, elements=("H", "C", "O"))
    )
    export_torchscript(model, tmp_path / "m.pt")
    meta = read_metadata(tmp_path / "m.pt")
    assert meta["elements"] == "H,C,O" and meta["torch_version"] == torch.__version__
    proc = run_cli("inspect", str(tmp_path / "m.pt"))
    assert proc.returncode == 0 and "elements=H,C,O" in proc.stdout.splitlines()
    (tmp_path / "text.pt").write_text("not a model")
    assert_one_line_error(run_cli("inspect", str(tmp_path / "text.pt")), "not a model file")


def test_inspect_reads_a_package(tmp_path):
    packages = sorted(
        Path(os.environ.get("MLFF_TEST_MODELS", "test_models")).glob("*_cpu_fp32.pt2")
    )
    if not packages:
        pytest.skip("no AOTInductor package among the test models")
    meta = read_metadata(packages[0])
    assert meta["format"] == "aoti" and meta["device"] == "cpu"
