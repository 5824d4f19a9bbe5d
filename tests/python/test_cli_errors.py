"""Every sub-command answers bad input with one line, `mlff_student <command>: <path>: ...`, and
exit status 1 or 2: no traceback, and nothing written that pair_style mlff/student would refuse."""

import json
import math
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import SHIPPED, run_cli

from mlff_student.deploy.export import export_torchscript
from mlff_student.model.student import StudentConfig, StudentForceField

GOOD_LOG = """LAMMPS (4 Jul 2026)
  12 atoms
Step Time Temp PotEng KinEng TotEng
0 0 300 -10 1 -9
10 0.01 301 -10.1 1.1 -9.0
Loop time of 0.1 on 1 procs for 10 steps with 12 atoms
"""


def write_bad_inputs(tmp: Path) -> None:
    """The files the cases name, in tmp."""
    (tmp / "empty.ckpt").write_bytes(b"")
    (tmp / "text.ckpt").write_text("not a checkpoint\n")
    (tmp / "file").write_text("a regular file\n")
    (tmp / "dir").mkdir()
    (tmp / "dir.pt").mkdir()
    shipped = torch.load(SHIPPED, weights_only=True)
    configs = {
        "cutoff_negative": {"cutoff": -5.0},
        "cutoff_zero": {"cutoff": 0.0},
        "cutoff_nan": {"cutoff": math.nan},
        "cutoff_inf": {"cutoff": math.inf},
        "element_xx": {"elements": ["C", "Xx"]},
    }
    for name, change in configs.items():
        torch.save({**shipped, "config": {**shipped["config"], **change}}, tmp / f"{name}.ckpt")
    model = StudentForceField(StudentConfig(hidden_dim=8, num_interactions=1, num_rbf=4))
    export_torchscript(model, tmp / "model.pt")
    for name, text in (("no_equals", b"format_version=2\ncutoff\n"), ("latin1", b"name=\xe9\n")):
        with zipfile.ZipFile(tmp / f"{name}.pt", "w") as archive:
            archive.writestr("model/extra/mlff_student_metadata", text)
    (tmp / "empty.npz").write_bytes(b"")
    (tmp / "text.npz").write_text("not a dataset\n")
    np.savez(tmp / "no_natoms.npz", numbers=np.ones(4, dtype=np.int64))
    frames = {
        "natoms": np.array([2, 2, 2]),
        "numbers": np.ones(6, dtype=np.int64),
        "positions": np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.74]] * 3),
        "energy": np.array([-1.0, -1.1, -0.9]),
        "forces": np.zeros((6, 3)),
        "names": np.array(["H2"]),
        "sampling": np.array(json.dumps({})),
    }
    np.savez(tmp / "good.npz", **frames)
    np.savez(tmp / "mismatch.npz", **{**frames, "numbers": np.ones(5, dtype=np.int64)})
    (tmp / "good.log").write_text(GOOD_LOG)
    (tmp / "empty.log").write_text("")
    (tmp / "binary.log").write_bytes(b"Step Time\n\xff\xfe\x00\n")
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)


def unwritable(tmp: Path) -> str:
    """A directory this process cannot create files in: a read-only one, or for root (who writes
    there anyway) sysfs's top level."""
    return str(tmp / "locked") if not os.access(tmp / "locked", os.W_OK) else "/sys"


# name -> (arguments, words the one line must contain); {tmp}: the bad inputs' directory,
# {locked}: an unwritable directory, {ckpt}: the shipped checkpoint.
CASES = {
    "export-empty": (["export", "{tmp}/empty.ckpt", "-o", "{tmp}/o.pt"], ["empty.ckpt", "empty"]),
    "export-text": (
        ["export", "{tmp}/text.ckpt", "-o", "{tmp}/o.pt"],
        ["text.ckpt", "not a PyTorch checkpoint"],
    ),
    "export-model-file": (
        ["export", "{tmp}/model.pt", "-o", "{tmp}/o.pt"],
        ["model.pt", "model file", "checkpoint"],
    ),
    "export-directory": (["export", "{tmp}/dir", "-o", "{tmp}/o.pt"], ["dir", "is a directory"]),
    **{
        f"export-{name}": (
            ["export", f"{{tmp}}/{name}.ckpt", "-o", "{tmp}/o.pt"],
            [f"{name}.ckpt", "cutoff", "positive"],
        )
        for name in ("cutoff_negative", "cutoff_zero", "cutoff_nan", "cutoff_inf")
    },
    "export-element": (
        ["export", "{tmp}/element_xx.ckpt", "-o", "{tmp}/o.pt"],
        ["element_xx.ckpt", "'Xx'", "not a chemical element"],
    ),
    "export-unwritable": (
        ["export", "{ckpt}", "-o", "{locked}/o.pt"],
        ["o.pt", "cannot be written"],
    ),
    "export-parent-is-a-file": (
        ["export", "{ckpt}", "-o", "{tmp}/file/o.pt"],
        ["file/o.pt", "is a file, not a directory"],
    ),
    "export-parent-missing": (
        ["export", "{ckpt}", "-o", "{tmp}/nowhere/o.pt"],
        ["nowhere/o.pt", "does not exist"],
    ),
    "export-output-is-a-directory": (
        ["export", "{ckpt}", "-o", "{tmp}/dir.pt"],
        ["dir.pt", "is a directory"],
    ),
    "compile-missing": (
        ["compile", "{tmp}/nothing.ckpt", "-o", "{tmp}/m.pt2", "--device", "cpu"],
        ["nothing.ckpt", "no such file"],
    ),
    "compile-fp16-on-cpu": (
        ["compile", "{ckpt}", "-o", "{tmp}/m.pt2", "--device", "cpu", "--precision", "fp16"],
        ["fp16", "cuda"],
    ),
    "compile-knots": (
        ["compile", "{ckpt}", "-o", "{tmp}/m.pt2", "--device", "cpu", "--knots", "0"],
        ["knots 0", "positive"],
    ),
    "compile-parent-is-a-file": (
        ["compile", "{ckpt}", "-o", "{tmp}/file/m.pt2", "--device", "cpu"],
        ["file/m.pt2", "is a file, not a directory"],
    ),
    "mliap-element": (
        ["mliap", "{ckpt}", "-o", "{tmp}/m.pt", "--elements", "C", "Xx"],
        ["'Xx'", "not a chemical element"],
    ),
    "mliap-outside-the-table": (
        ["mliap", "{ckpt}", "-o", "{tmp}/m.pt", "--elements", "C", "Md"],
        ["Md", "Z = 101", "100"],
    ),
    "nve-report-missing": (["nve-report", "{tmp}/nothing.log"], ["nothing.log", "no such file"]),
    "nve-report-directory": (["nve-report", "{tmp}/dir"], ["dir", "is a directory"]),
    "nve-report-empty": (["nve-report", "{tmp}/empty.log"], ["empty.log", "no thermo output"]),
    "nve-report-binary": (["nve-report", "{tmp}/binary.log"], ["binary.log", "not UTF-8 text"]),
    "nve-report-json-parent-is-a-file": (
        ["nve-report", "{tmp}/good.log", "--json", "{tmp}/file/m.json"],
        ["file/m.json", "is a file, not a directory"],
    ),
    "nve-report-png-format": (
        ["nve-report", "{tmp}/good.log", "--png", "{tmp}/plot.xyz"],
        ["plot.xyz", "format"],
    ),
    **{
        f"distill-{name}": (
            ["distill", "--out", "{tmp}/s", "--dataset", f"{{tmp}}/{name}.npz", "--epochs", "1"],
            [f"{name}.npz", *words],
        )
        for name, words in (
            ("empty", ["empty"]),
            ("text", ["not an .npz dataset"]),
            ("no_natoms", ["'natoms'"]),
            ("mismatch", ["'numbers'", "5"]),
        )
    },
    "distill-directory": (
        ["distill", "--out", "{tmp}/s", "--dataset", "{tmp}/dir"],
        ["dir", "is a directory"],
    ),
    "distill-no-dataset": (["distill", "--out", "{tmp}/s"], ["--dataset"]),
    **{
        f"distill-{name}": (
            # --epochs 1 first: a value refused is never trained with, and one not refused
            # trains briefly.
            ["distill", "--out", "{tmp}/s", "--dataset", "{tmp}/good.npz", "--epochs", "1"]
            + [option, value],
            [option, value],
        )
        for name, option, value in (
            ("cutoff-negative", "--cutoff", "-5"),
            ("epochs", "--epochs", "0"),
            ("hidden-dim", "--hidden-dim", "2"),
            ("temperatures", "--temperatures", "hot"),
            ("device", "--device", "gpu"),
            ("molecules", "--molecules", "unobtainium"),
            ("liquid-densities", "--liquid-densities", "dense"),
            ("energy-weight", "--energy-weight", "nan"),
            ("force-weight", "--force-weight", "-2"),
            ("virial-weight", "--virial-weight", "-1"),
        )
    },
    "distill-start-from-missing": (
        ["distill", "--out", "{tmp}/s", "--dataset", "{tmp}/good.npz", "--start-from"]
        + ["{tmp}/nothing.ckpt"],
        ["nothing.ckpt", "no such file"],
    ),
    "distill-out-parent-is-a-file": (
        ["distill", "--out", "{tmp}/file/s", "--dataset", "{tmp}/good.npz"],
        ["file/s", "is a file, not a directory"],
    ),
    "molecules-name": (
        ["molecules", "--out", "{tmp}/structures", "--names", "caffeine,aspirin"],
        ["--names", "'aspirin'", "caffeine"],
    ),
    "molecules-out-is-a-file": (
        ["molecules", "--out", "{tmp}/file", "--names", "caffeine"],
        ["file", "not a directory"],
    ),
    "inspect-directory": (["inspect", "{tmp}/dir"], ["dir", "is a directory"]),
    "inspect-no-equals": (["inspect", "{tmp}/no_equals.pt"], ["no_equals.pt", "'cutoff'", "="]),
    "inspect-not-utf8": (["inspect", "{tmp}/latin1.pt"], ["latin1.pt", "not UTF-8"]),
}


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """The selected cases' runs, all started at once: each spends seconds importing torch, and
    one after another they would take minutes."""
    tmp = tmp_path_factory.mktemp("bad")
    write_bad_inputs(tmp)
    fill = {"tmp": str(tmp), "locked": unwritable(tmp), "ckpt": str(SHIPPED)}
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.path == request.path and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1) as pool:
        yield {
            case: pool.submit(run_cli, *(a.format(**fill) for a in CASES[case][0]))
            for case in selected
        }
    (tmp / "locked").chmod(0o755)  # so that pytest can remove it


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line(case, outcomes):
    proc = outcomes[case].result()
    command, words = CASES[case][0][0], CASES[case][1]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), proc.stderr
    assert lines[0].startswith(f"mlff_student {command}: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
