"""Runs the real LAMMPS executable with the plugin and reads back energies, forces and virials."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlff_student import load_checkpoint
from mlff_student.data.systems import write_lammps_data

LMP = os.environ.get("MLFF_LMP", "lmp")
PLUGIN = os.environ.get("MLFF_PLUGIN", "mlffstudentplugin.so")
MODELS = Path(os.environ.get("MLFF_TEST_MODELS", "test_models"))
POTENTIALS = Path(__file__).resolve().parents[2] / "potentials"
NKTV2P_METAL = 1.6021765e6  # LAMMPS's pressure conversion for units metal (bar * Å^3 / eV)


@dataclass
class Result:
    energy: float
    virial: np.ndarray  # eV, xx yy zz xy xz yz
    forces: np.ndarray  # by atom ID
    atom_energy: np.ndarray
    atom_virial: np.ndarray  # eV, per atom, same order
    log: str


def model_file(name: str, dtype: str = "float64") -> Path:
    return MODELS / f"{name}_{dtype}.pt"


def reference_model(name: str):
    """The Python model behind a test model file: the checkpoint the test set-up wrote, or the
    shipped one for student_gfn2."""
    return load_checkpoint(
        POTENTIALS / "student_gfn2.ckpt" if name == "student_gfn2" else MODELS / f"{name}.ckpt"
    )


def run_lammps(
    workdir: Path,
    script: str,
    nprocs: int = 1,
    check: bool = True,
    timeout: int = 600,
    env: dict | None = None,
    args: list[str] = (),
    lmp: str = LMP,
):
    """args: extra LAMMPS command-line flags, e.g. -k on t 2 -sf kk; lmp: another executable."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "in.lmp").write_text(script)
    cmd = [lmp, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", *args]
    if nprocs > 1:
        cmd = ["mpirun", "-np", str(nprocs), "--oversubscribe"] + cmd
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    log = (workdir / "log.lammps").read_text() if (workdir / "log.lammps").exists() else ""
    output = proc.stdout + proc.stderr + log
    if check and proc.returncode != 0:
        raise RuntimeError(f"LAMMPS failed ({proc.returncode}):\n{output[-3000:]}")
    return proc.returncode, output


def header(
    data: str,
    elements: list[str],
    model: Path,
    periodic: bool,
    newton: str = "on",
    pair: str | None = None,
    pre: str = "",
    load_plugin: bool = True,
) -> str:
    boundary = "p p p" if periodic else "f f f"
    pair = pair or f"pair_style mlff/student\npair_coeff * * {model} {' '.join(elements)}"
    load = f"plugin load {PLUGIN}" if load_plugin else ""
    return f"""{load}
units metal
boundary {boundary}
atom_style atomic
newton {newton}
{pre}
read_data {data}
{pair}
neighbor 1.0 bin
"""


def single_point(
    workdir: Path,
    atoms,
    elements: list[str],
    model: Path,
    nprocs: int = 1,
    newton: str = "on",
    extra: str = "",
    pair: str | None = None,
    pre: str = "",
    args: list[str] = (),
    lmp: str | None = None,
) -> Result:
    """run 0 with energies, forces, global and per-atom virials written out; lmp: another LAMMPS
    executable, which runs without the plugin."""
    workdir.mkdir(parents=True, exist_ok=True)
    periodic = bool(atoms.pbc.any())
    write_lammps_data(atoms, workdir / "system.data", elements)
    script = (
        header("system.data", elements, model, periodic, newton, pair, pre, load_plugin=lmp is None)
        + extra
        + """
compute vir all pressure NULL virial
compute pe_atom all pe/atom
compute stress_atom all stress/atom NULL virial
thermo_style custom step pe vol c_vir[*]
thermo_modify format float %.16g
dump forces all custom 1 forces.dump id fx fy fz c_pe_atom c_stress_atom[*]
dump_modify forces sort id format float %.16g
run 0
print "RESULT $(pe:%.16g) $(vol:%.16g) $(c_vir[1]:%.16g) $(c_vir[2]:%.16g) $(c_vir[3]:%.16g) $(c_vir[4]:%.16g) $(c_vir[5]:%.16g) $(c_vir[6]:%.16g)"
"""  # noqa: E501 (a LAMMPS command is one line)
    )
    _, log = run_lammps(workdir, script, nprocs, args=args, lmp=lmp or LMP)
    line = next(row for row in log.splitlines() if row.startswith("RESULT"))
    values = [float(v) for v in line.split()[1:]]
    energy, volume, pressure = values[0], values[1], np.array(values[2:8])
    rows = np.loadtxt(workdir / "forces.dump", skiprows=9, ndmin=2)
    return Result(
        energy=energy,
        virial=pressure * volume / NKTV2P_METAL,
        forces=rows[:, 1:4],
        atom_energy=rows[:, 4],
        atom_virial=-rows[:, 5:11] / NKTV2P_METAL,
        log=log,
    )


def elements_of(atoms) -> list[str]:
    return sorted(set(atoms.get_chemical_symbols()))
