"""MLFF-Distiller's trained students in LAMMPS: run 0 equals the Python reference of the ONNX
weights, and benzene has the 427K model's known energy."""

import os
from pathlib import Path

import numpy as np
import pytest

from harness import elements_of, header, run_lammps, single_point
from mlff_student import load_onnx
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data
from mlff_student.integrations.ase_calculator import evaluate

pytestmark = pytest.mark.skipif(
    "MLFF_LMP" not in os.environ, reason="the LAMMPS plugin is not built"
)
SEED = Path(os.environ.get("MLFF_SEED_DIR", ""))
SEED_MODELS = Path(os.environ.get("MLFF_SEED_MODELS", "test_models/seed"))


def systems():
    mols = molecules()
    return {
        **mols,
        "benzene_box": molecular_box(mols["benzene"], 2, 0.87, seed=3),
        "benzene_triclinic": molecular_box(
            mols["benzene"], 2, 0.87, seed=4, tilt=(0.15, -0.1, 0.2)
        ),
    }


@pytest.mark.parametrize("system", list(systems()))
@pytest.mark.parametrize("name", ["student_427k", "tiny_77k"])
def test_run0_matches_reference(name, system, tmp_path):
    atoms = systems()[system]
    ref = evaluate(load_onnx(SEED / "models" / f"{name}.onnx"), atoms)
    out = single_point(tmp_path, atoms, elements_of(atoms), SEED_MODELS / f"{name}_float64.pt")
    assert out.energy == pytest.approx(ref["energy"], rel=1e-10, abs=1e-9)
    np.testing.assert_allclose(out.forces, ref["forces"], atol=1e-8)
    np.testing.assert_allclose(out.atom_energy, ref["energies"], atol=1e-9)
    if atoms.pbc.any():
        np.testing.assert_allclose(out.virial, ref["virial"], atol=1e-7)


def test_benzene_energy_is_the_known_one(tmp_path):
    write_lammps_data(molecules()["benzene"], tmp_path / "system.data", ["C", "H"])
    script = header("system.data", ["C", "H"], SEED_MODELS / "student_427k_float32.pt", False)
    _, log = run_lammps(tmp_path, script + 'run 0\nprint "PE $(pe:%.10f)"\n')
    pe = float(next(line for line in log.splitlines() if line.startswith("PE ")).split()[1])
    assert pe == pytest.approx(-76.05328, abs=2e-4)
