"""LAMMPS run 0 against the Python reference of the same model, and finite differences."""

from pathlib import Path

import numpy as np
import pytest

from harness import (
    MODELS,
    PLUGIN,
    POTENTIALS,
    elements_of,
    header,
    model_file,
    reference_model,
    run_lammps,
    single_point,
)
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data
from mlff_student.integrations.ase_calculator import evaluate

MOLECULES = molecules()


def systems():
    benzene = MOLECULES["benzene"]
    return {
        **MOLECULES,
        "benzene_box": molecular_box(benzene, 2, 0.87, seed=3),
        "benzene_triclinic": molecular_box(benzene, 2, 0.87, seed=4, tilt=(0.15, -0.1, 0.2)),
    }


@pytest.fixture(scope="module", params=["seedarch_427k", "seedarch_77k"])
def model_name(request):
    return request.param


@pytest.mark.parametrize("system", list(systems()))
def test_run0_matches_reference(model_name, system, tmp_path):
    atoms = systems()[system]
    ref = evaluate(reference_model(model_name), atoms)
    out = single_point(tmp_path, atoms, elements_of(atoms), model_file(model_name, "float64"))
    assert out.energy == pytest.approx(ref["energy"], rel=1e-10, abs=1e-9)
    np.testing.assert_allclose(out.forces, ref["forces"], atol=1e-8)
    np.testing.assert_allclose(out.atom_energy, ref["energies"], atol=1e-9)
    assert out.atom_energy.sum() == pytest.approx(out.energy, abs=1e-8)
    if atoms.pbc.any():
        np.testing.assert_allclose(out.virial, ref["virial"], atol=1e-7)
    np.testing.assert_allclose(out.atom_virial.sum(axis=0), out.virial, atol=1e-7)


def test_float32_model_within_its_precision(tmp_path):
    atoms = systems()["benzene_box"]
    ref = evaluate(reference_model("seedarch_427k"), atoms)
    out = single_point(tmp_path, atoms, elements_of(atoms), model_file("seedarch_427k", "float32"))
    assert out.energy == pytest.approx(ref["energy"], rel=1e-5)
    assert np.linalg.norm(out.forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < 1e-5


@pytest.mark.parametrize("system", ["loratadine", "benzene_triclinic"])
def test_aoti_package_matches_reference(system, tmp_path):
    atoms = systems()[system]
    ref = evaluate(reference_model("seedarch_77k"), atoms)
    out = single_point(tmp_path, atoms, elements_of(atoms), MODELS / "seedarch_77k_cpu_fp32.pt2")
    assert out.energy == pytest.approx(ref["energy"], rel=1e-5)
    assert np.linalg.norm(out.forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < 1e-5
    if atoms.pbc.any():
        np.testing.assert_allclose(out.virial, ref["virial"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("system", ["caffeine", "benzene_triclinic"])
def test_finite_differences(system, tmp_path):
    """Central differences of the LAMMPS energy against LAMMPS forces (and the virial by strain)."""
    atoms = systems()[system]
    elements = elements_of(atoms)
    write_lammps_data(atoms, tmp_path / "system.data", elements)
    periodic = bool(atoms.pbc.any())
    h = 1e-4
    probes = [(1, 0), (5, 1), (len(atoms), 2)]
    lines = [
        header("system.data", elements, model_file("seedarch_427k"), periodic),
        "thermo_modify format float %.16g",
        "dump f all custom 1 f.dump id fx fy fz",
        "dump_modify f sort id format float %.16g",
        "run 0",
        "undump f",
    ]
    for atom_id, axis in probes:
        d = [0.0, 0.0, 0.0]
        lines.append(f"group p{atom_id} id {atom_id}")
        for sign in (1, -2, 1):  # +h, -h, then back
            d[axis] = sign * h
            lines.append(f"displace_atoms p{atom_id} move {d[0]} {d[1]} {d[2]} units box")
            lines.append("run 0")
            lines.append(f'print "FD {atom_id} {axis} {sign} $(pe:%.16g)"')
    if periodic:
        for scale in (1 + h, (1 - h) / (1 + h), 1 / (1 - h)):
            # x -> s x for every point: tilts with an x component scale too.
            lines.append(
                f"change_box all x scale {scale!r} xy final $(xy*{scale!r}) "
                f"xz final $(xz*{scale!r}) remap units box"
            )
            lines.append("run 0")
            lines.append('print "STRAIN $(pe:%.16g) $(lx:%.16g)"')
    _, log = run_lammps(tmp_path, "\n".join(lines) + "\n")
    forces = np.loadtxt(tmp_path / "f.dump", skiprows=9)[:, 1:4]
    fd = [line.split() for line in log.splitlines() if line.startswith("FD ")]
    for k, (atom_id, axis) in enumerate(probes):
        e_plus, e_minus = float(fd[3 * k][4]), float(fd[3 * k + 1][4])
        assert -(e_plus - e_minus) / (2 * h) == pytest.approx(forces[atom_id - 1, axis], abs=2e-6)
    if periodic:
        strain = [line.split() for line in log.splitlines() if line.startswith("STRAIN")]
        out = single_point(tmp_path / "sp", atoms, elements, model_file("seedarch_427k"))
        # W_xx = -dE/d(eps_xx) for a homogeneous stretch of x.
        dE = (float(strain[0][1]) - float(strain[1][1])) / (2 * h)
        assert -dE == pytest.approx(out.virial[0], abs=1e-5)


def test_plugin_loads_from_LAMMPS_PLUGIN_PATH(tmp_path):
    atoms = MOLECULES["benzene"]
    write_lammps_data(atoms, tmp_path / "system.data", ["C", "H"])
    script = header("system.data", ["C", "H"], model_file("seedarch_427k", "float32"), False)
    script = script.replace(f"plugin load {PLUGIN}\n", "") + 'run 0\nprint "PE $(pe:%.10f)"\n'
    assert "plugin load" not in script
    _, log = run_lammps(tmp_path, script, env={"LAMMPS_PLUGIN_PATH": str(Path(PLUGIN).parent)})
    pe = float(next(line for line in log.splitlines() if line.startswith("PE ")).split()[1])
    assert pe == pytest.approx(
        evaluate(reference_model("seedarch_427k"), atoms)["energy"], abs=2e-4
    )


@pytest.mark.parametrize("system", ["loratadine", "benzene_triclinic"])
def test_shipped_default_model_matches_reference(system, tmp_path):
    """potentials/student_gfn2 (channel mixing, smooth cutoff, per-element reference energies): its
    float64 export to 1e-10; the shipped float32 file and a CPU AOTI package of it within float32's
    precision."""
    atoms = systems()[system]
    ref = evaluate(reference_model("student_gfn2"), atoms)
    out = single_point(tmp_path / "f64", atoms, elements_of(atoms), model_file("student_gfn2"))
    assert out.energy == pytest.approx(ref["energy"], rel=1e-10)
    np.testing.assert_allclose(out.forces, ref["forces"], atol=1e-8)
    if atoms.pbc.any():
        np.testing.assert_allclose(out.virial, ref["virial"], atol=1e-7)
    for name, path in [
        ("f32", POTENTIALS / "student_gfn2.pt"),
        ("aoti", MODELS / "student_gfn2_cpu_fp32.pt2"),
    ]:
        out = single_point(tmp_path / name, atoms, elements_of(atoms), path)
        assert out.energy == pytest.approx(ref["energy"], rel=1e-6), name
        assert np.linalg.norm(out.forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < 1e-5, (
            name
        )
