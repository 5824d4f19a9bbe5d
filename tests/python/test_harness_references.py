"""The reference values in tests/pair_style_harness/*.yaml (which LAMMPS's test_pair_style holds
the style to) are the model's own: the float64 checkpoint evaluated in Python on the YAML's
system gives the same energy, forces and virial. So the harness checks the style against the
model, not only against itself."""

import re
from pathlib import Path

import numpy as np
import pytest
from ase.data import atomic_numbers
from ase.io import read

from mlff_student import load_checkpoint
from mlff_student.integrations.ase_calculator import evaluate

HARNESS = Path(__file__).resolve().parents[1] / "pair_style_harness"
POTENTIALS = Path(__file__).resolve().parents[2] / "potentials"
DATA = {"in.mlff_molecule": "data.caffeine", "in.mlff_liquid": "data.benzene_liquid"}


def fields(path: Path) -> dict[str, str]:
    """The YAML file's top-level keys and their values (a block's lines joined)."""
    out, key = {}, None
    for line in path.read_text().splitlines():
        m = re.match(r"^(\w+):\s*(.*)$", line)
        if m:
            key = m.group(1)
            out[key] = re.sub(r'^(! )?(\|2?-?|"")$', "", m.group(2).strip())
        elif key and line.startswith(" "):
            out[key] += "\n" + line.strip()
    return out


def float64_yamls():
    return [p for p in sorted(HARNESS.glob("*.yaml")) if "float32" not in p.name]


@pytest.mark.parametrize("yaml", float64_yamls(), ids=lambda p: p.stem)
def test_harness_references_are_the_models(yaml):
    f = fields(yaml)
    coeff = f["pair_coeff"].split()
    model_file, elements = Path(coeff[2]).name, coeff[3:]
    checkpoint = POTENTIALS / (model_file.replace("_float64.pt", "") + ".ckpt")
    atoms = read(
        HARNESS / DATA[f["input_file"]],
        format="lammps-data",
        atom_style="atomic",
        Z_of_type={i + 1: atomic_numbers[e] for i, e in enumerate(elements)},
        units="metal",
    )
    atoms.pbc = "p p p" in f["pre_commands"] or f["input_file"] == "in.mlff_liquid"
    ref = evaluate(load_checkpoint(checkpoint), atoms)
    assert float(f["init_vdwl"]) == pytest.approx(ref["energy"], abs=1e-9)
    stress = np.array(f["init_stress"].split(), dtype=float)
    np.testing.assert_allclose(stress, ref["virial"], atol=1e-8)
    rows = np.array([line.split() for line in f["init_forces"].splitlines() if line], dtype=float)
    forces = np.zeros((len(atoms), 3))
    forces[rows[:, 0].astype(int) - 1] = rows[:, 1:]
    np.testing.assert_allclose(forces, ref["forces"], atol=1e-9)
