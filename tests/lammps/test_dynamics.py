"""Short NVE runs conserve energy; the style combines with others through pair hybrid/overlay.

The NVE runs use the shipped default model, whose dynamics are physical; the rest the test models
of MLFF-Distiller's architecture."""

import numpy as np
import pytest

from harness import POTENTIALS, elements_of, header, model_file, run_lammps, single_point
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data

MOLECULES = molecules()


def nve(tmp_path, atoms, steps: int, nprocs: int = 1, model=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    elements = elements_of(atoms)
    write_lammps_data(atoms, tmp_path / "system.data", elements)
    model = model or POTENTIALS / "student_gfn2.pt"
    script = (
        header("system.data", elements, model, bool(atoms.pbc.any()))
        + f"""
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
thermo 10
thermo_style custom step temp pe ke etotal
thermo_modify format float %.12g
run {steps}
"""
    )
    _, log = run_lammps(tmp_path, script, nprocs)
    rows = []
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Step", "Temp"])
    for line in lines[start + 1 :]:
        parts = line.split()
        if not parts or not parts[0].isdigit():
            break
        rows.append([float(p) for p in parts])
    return np.array(rows)


def test_nve_benzene_conserves_energy(tmp_path):
    """1,000 steps of 0.5 fs: total energy stays within 1 meV/atom of its start."""
    benzene = MOLECULES["benzene"]
    thermo = nve(tmp_path, benzene, 1000)
    assert len(thermo) == 101
    etotal = thermo[:, 4]
    assert np.abs(etotal - etotal[0]).max() < 1e-3 * len(benzene)
    assert thermo[:, 3].max() > 0.1  # the atoms really moved


def test_nve_periodic_box_conserves_energy(tmp_path):
    """A dense periodic box (96 atoms, folded ghost images): within 2 meV/atom over 100 steps."""
    box = molecular_box(MOLECULES["benzene"], 2, 0.87, seed=8)
    thermo = nve(tmp_path, box, 100)
    etotal = thermo[:, 4]
    assert np.abs(etotal - etotal[0]).max() < 2e-3 * len(box)


def test_nve_trajectory_is_the_same_on_two_ranks(tmp_path):
    molecule = MOLECULES["loratadine"]
    one = nve(tmp_path / "one", molecule, 100, model=model_file("student_gfn2", "float64"))
    two = nve(
        tmp_path / "two", molecule, 100, nprocs=2, model=model_file("student_gfn2", "float64")
    )
    np.testing.assert_allclose(two, one, rtol=1e-9, atol=1e-8)


def test_hybrid_overlay_with_a_half_list_style(tmp_path):
    """lj/cut asks for a half list; mlff/student still gets its full list and the sum is exact."""
    atoms = molecular_box(MOLECULES["benzene"], 2, 0.87, seed=9)
    elements = elements_of(atoms)
    model = model_file("seedarch_427k")
    alone = single_point(tmp_path / "alone", atoms, elements, model)
    lj = "pair_style lj/cut 4.0\npair_coeff * * 0.002 2.5"
    lj_only = single_point(tmp_path / "lj", atoms, elements, model, pair=lj)
    both = single_point(
        tmp_path / "both",
        atoms,
        elements,
        model,
        pair=f"pair_style hybrid/overlay mlff/student lj/cut 4.0\n"
        f"pair_coeff * * mlff/student {model} {' '.join(elements)}\n"
        f"pair_coeff * * lj/cut 0.002 2.5",
    )
    assert both.energy == pytest.approx(alone.energy + lj_only.energy, rel=1e-12)
    np.testing.assert_allclose(both.forces, alone.forces + lj_only.forces, atol=1e-9)
    np.testing.assert_allclose(both.virial, alone.virial + lj_only.virial, atol=1e-8)


def test_null_type_is_left_to_another_style(tmp_path):
    """A type mapped to NULL gets no model energy; the hybrid partner handles it."""
    atoms = MOLECULES["benzene"].copy()
    atoms.positions[0] += [0.0, 0.0, 0.2]
    elements = ["C", "H", "Ar"]
    argon = atoms.copy()
    argon += atoms[:1]
    argon.symbols[-1] = "Ar"
    argon.positions[-1] = [0.0, 0.0, 3.5]
    model = model_file("seedarch_427k")
    ref = single_point(tmp_path / "ref", atoms, ["C", "H"], model)
    out = single_point(
        tmp_path / "hyb",
        argon,
        elements,
        model,
        pair=f"pair_style hybrid mlff/student zero 6.0\n"
        f"pair_coeff * * mlff/student {model} C H NULL\n"
        f"pair_coeff * 3 zero",
    )
    assert out.energy == pytest.approx(ref.energy, rel=1e-12)
    np.testing.assert_allclose(out.forces[:-1], ref.forces, atol=1e-9)
    np.testing.assert_allclose(out.forces[-1], 0.0, atol=1e-12)
