"""Benzene MD driven from Python through LAMMPS's own module: the plugin is loaded into the LAMMPS
library, the shipped model runs NVE steps, and energies and forces come back as NumPy arrays.

    python examples/python/benzene_md.py --plugin build/mlffstudentplugin.so [--steps 1000]

scripts/setup.sh installs the `lammps` module into its venv, bound to the LAMMPS it built.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from lammps import lammps

HERE = Path(__file__).resolve().parent
MODEL = HERE.parents[1] / "potentials" / "student_gfn2.pt"
DATA = HERE.parent / "benzene" / "benzene.data"


def start(plugin: Path, model: Path = MODEL, data: Path = DATA, device: str = "cpu") -> lammps:
    """A LAMMPS instance holding benzene and the model, ready to run."""
    lmp = lammps(cmdargs=["-screen", "none", "-log", "none"])
    lmp.commands_string(f"""
plugin load {plugin}
units metal
boundary m m m
atom_style atomic
read_data {data}
pair_style mlff/student device {device}
pair_coeff * * {model} C H
neighbor 1.0 bin
""")
    return lmp


def forces_by_id(lmp: lammps) -> np.ndarray:
    ids = lmp.numpy.extract_atom("id")
    forces = np.array(lmp.numpy.extract_atom("f"), dtype=float)
    return forces[np.argsort(ids)]


def single_point(plugin: Path, **kwargs) -> tuple[float, np.ndarray]:
    """Potential energy (eV) and forces (eV/Å, by atom ID) of the data file's geometry."""
    lmp = start(plugin, **kwargs)
    lmp.command("run 0")
    energy = lmp.get_thermo("pe")
    forces = forces_by_id(lmp)
    lmp.close()
    return energy, forces


def nve(plugin: Path, steps: int, every: int = 100, **kwargs) -> np.ndarray:
    """Rows of (step, potential, kinetic, total energy) every `every` steps of NVE at 300 K."""
    lmp = start(plugin, **kwargs)
    lmp.commands_string("""
velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
""")
    rows = []
    for _ in range(steps // every):
        lmp.command(f"run {every} pre no post no")
        pe, ke = lmp.get_thermo("pe"), lmp.get_thermo("ke")
        rows.append((lmp.get_thermo("step"), pe, ke, pe + ke))
    lmp.close()
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugin", type=Path, required=True, help="mlffstudentplugin.so")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    plugin = args.plugin.resolve()
    energy, forces = single_point(plugin, model=args.model, device=args.device)
    print(f"energy {energy:.6f} eV, largest force {np.abs(forces).max():.4f} eV/A")
    print("   step   potential     kinetic       total (eV)")
    for step, pe, ke, total in nve(plugin, args.steps, model=args.model, device=args.device):
        print(f"{int(step):7d} {pe:11.5f} {ke:11.5f} {total:11.5f}")


if __name__ == "__main__":
    main()
