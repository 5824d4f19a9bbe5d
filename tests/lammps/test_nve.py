"""examples/nve_100ps: the LAMMPS trajectory equals a Python velocity-Verlet trajectory of the same
model, and short versions of the validation runs produce their reports. All with the shipped
default model, whose dynamics are physical."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import units
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
from ase.md.verlet import VelocityVerlet

from harness import LMP, PLUGIN, POTENTIALS, header, model_file, reference_model, run_lammps
from mlff_student.analysis.nve import read_log
from mlff_student.data.systems import molecules, write_lammps_data
from mlff_student.integrations.ase_calculator import StudentCalculator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nve_100ps"
STEPS, EVERY = 200, 50
# LAMMPS's metal units and ASE's units differ in the last digits of their constants (about 1e-7
# relative); over 0.1 ps of benzene that stays far below these bounds.
POSITION_TOL = 1e-6  # Å
ENERGY_TOL = 1e-6  # eV


def test_lammps_trajectory_matches_ase_velocity_verlet(tmp_path):
    atoms = molecules()["benzene"]
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(42))
    Stationary(atoms)
    ZeroRotation(atoms)
    write_lammps_data(atoms, tmp_path / "system.data", ["C", "H"], velocities=True)
    model = model_file("student_gfn2", "float64")
    script = (
        header(
            "system.data",
            ["C", "H"],
            model,
            periodic=False,
            pair=f"pair_style mlff/student device cpu\npair_coeff * * {model} C H",
        )
        + f"""
timestep 0.0005
fix nve all nve
thermo_style custom step pe ke etotal
thermo_modify format float %.15g
thermo {EVERY}
dump x all custom {EVERY} traj.dump id x y z
dump_modify x sort id format float %.15g
run {STEPS}
"""
    )
    _, log = run_lammps(tmp_path, script)
    frames = (tmp_path / "traj.dump").read_text().split("ITEM: TIMESTEP")[1:]
    lammps_x = [
        np.array([line.split()[1:4] for line in f.strip().splitlines()[8:]], float) for f in frames
    ]
    thermo = [
        line.split()
        for line in log.splitlines()
        if line.split()[:1] and line.split()[0].isdigit() and len(line.split()) == 4
    ]
    lammps_e = {int(r[0]): (float(r[1]), float(r[3])) for r in thermo}

    atoms.calc = StudentCalculator(reference_model("student_gfn2"))
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    for k in range(STEPS // EVERY + 1):
        if k:
            dyn.run(EVERY)
        step = k * EVERY
        pe = atoms.get_potential_energy()
        total = pe + atoms.get_kinetic_energy()
        assert np.abs(atoms.positions - lammps_x[k]).max() < POSITION_TOL, step
        assert lammps_e[step][0] == pytest.approx(pe, abs=ENERGY_TOL), step
        assert lammps_e[step][1] == pytest.approx(total, abs=ENERGY_TOL), step
    # The molecule did move: the comparison is not between two unchanged structures.
    assert np.abs(lammps_x[-1] - lammps_x[0]).max() > 0.01


def run_example(tmp_path, systems: str, steps: int, *extra: str) -> dict:
    model = POTENTIALS / "student_gfn2.pt"
    cmd = [
        sys.executable,
        str(EXAMPLE / "run.py"),
        "--lmp",
        LMP,
        "--plugin",
        PLUGIN,
        "--model",
        str(model),
        "--pair",
        "device cpu",
        "--systems",
        systems,
        "--steps",
        str(steps),
        "--jobs",
        "2",
        "--work",
        str(tmp_path),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name in systems.split(","):
        assert (tmp_path / name / "energies.png").stat().st_size > 10000
        assert json.loads((tmp_path / name / "report.json").read_text()) == summary["runs"][name]
    return summary["runs"]


def test_short_validation_runs_of_the_molecules(tmp_path):
    runs = run_example(tmp_path, "benzene,caffeine,loratadine", 2000)
    for name, m in runs.items():
        assert m["time_ps"] == pytest.approx(1.0), name
        assert m["samples"] == 201, name
        assert all(np.isfinite(v) for v in m.values() if isinstance(v, float)), name
        assert abs(m["drift_pct"]) < 1.0, name  # the seed's criterion holds over 1 ps for all
    benzene = runs["benzene"]
    assert benzene["seed_passed"]
    assert 100 < benzene["temperature_mean_K"] < 400
    assert abs(benzene["drift_slope_meV_per_atom_ps"]) < 5.0


def test_short_validation_run_of_the_liquid_box(tmp_path):
    runs = run_example(tmp_path, "benzene_box", 40)
    box = runs["benzene_box"]
    assert box["atoms"] == 324
    assert box["samples"] == 5
    assert 200 < box["temperature_mean_K"] < 400


def test_resumed_run_equals_one_run(tmp_path):
    """A run continued from its restart file (what --resume does after --timeout) reports the same
    trajectory as one uninterrupted run."""
    whole = run_example(tmp_path / "whole", "benzene", 300)["benzene"]
    run_example(tmp_path / "parts", "benzene", 120)
    parts = run_example(tmp_path / "parts", "benzene", 300, "--resume")["benzene"]
    assert parts["samples"] == whole["samples"] == 31
    for key in ("drift_pct", "max_drift_pct", "drift_slope_meV_per_atom_ps", "temperature_mean_K"):
        assert parts[key] == pytest.approx(whole[key], rel=1e-6, abs=1e-9), key


def test_default_model_keeps_benzene_at_300_k_without_energy_jumps(tmp_path):
    """potentials/student_gfn2 over 2 ps, started as its 100 ps validation is: the total energy
    moves by at most a few meV between samples. Without the smooth cutoff the same training
    jumped by 0.12 eV within these 2 ps (pairs crossing the cutoff)."""
    run_example(tmp_path, "benzene", 4000, "--minimize", "--temperature", "600")
    thermo = read_log(tmp_path / "benzene" / "log.lammps")
    assert len(thermo.etotal) == 401
    assert np.abs(np.diff(thermo.etotal)).max() < 0.02
    assert thermo.etotal.std() < 0.005
    assert 200 < thermo.temp[50:].mean() < 400
