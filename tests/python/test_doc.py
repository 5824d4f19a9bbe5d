"""The pair style's LAMMPS-format page builds without a warning."""

import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "doc"


def test_the_doc_page_builds_without_warnings(tmp_path):
    pytest.importorskip(
        "sphinx.cmd.build", reason="Sphinx is not installed (scripts/setup.sh installs it)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx.cmd.build",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOC),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    page = (tmp_path / "html" / "pair_mlff_student.html").read_text()
    for heading in (
        "Syntax",
        "Examples",
        "Description",
        "Restrictions",
        "Related commands",
        "Default",
    ):
        assert heading in page
