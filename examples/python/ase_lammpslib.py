"""Energies and forces of an ASE Atoms object through ASE's LAMMPSlib calculator, which drives the
LAMMPS library: the calculator's first command loads the plugin, the next two set the style up.

    python examples/python/ase_lammpslib.py --plugin build/mlffstudentplugin.so
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ase.build import molecule
from ase.calculators.lammpslib import LAMMPSlib

MODEL = Path(__file__).resolve().parents[2] / "potentials" / "student_gfn2.pt"


def calculator(
    plugin: Path, elements: list[str], model: Path = MODEL, device: str = "cpu"
) -> LAMMPSlib:
    """LAMMPS with pair_style mlff/student as an ASE calculator; elements in atom-type order."""
    return LAMMPSlib(
        lmpcmds=[
            f"plugin load {Path(plugin).resolve()}",
            f"pair_style mlff/student device {device}",
            f"pair_coeff * * {Path(model).resolve()} {' '.join(elements)}",
        ],
        atom_types={element: k + 1 for k, element in enumerate(elements)},
        keep_alive=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plugin", type=Path, required=True, help="mlffstudentplugin.so")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    atoms = molecule("C6H6")
    atoms.center(vacuum=10.0)  # LAMMPS needs a box; a molecule's is open (pbc False)
    atoms.calc = calculator(args.plugin, ["C", "H"], device=args.device)
    print(f"energy {atoms.get_potential_energy():.6f} eV")
    print("forces (eV/A):")
    print(atoms.get_forces())


if __name__ == "__main__":
    main()
