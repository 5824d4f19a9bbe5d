"""Test and example systems, and LAMMPS data files for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.build import molecule
from ase.data import atomic_masses, atomic_numbers, covalent_radii
from ase.io import read, write

from .teacher import ase_teacher

AVOGADRO = 6.02214076e23


# The project's drug-like molecules, made only of the elements its students know (H C N O F S Cl):
# name -> SMILES. structures/<name>.xyz holds each at its teacher (GFN2-xTB) minimum, made by
# make_molecules (python -m mlff_student molecules).
DRUGLIKE = {
    "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # C8H10N4O2, 24 atoms
    "celecoxib": "CC1=CC=C(C=C1)C2=CC(=NN2C3=CC=C(C=C3)S(=O)(=O)N)C(F)(F)F",  # C17H14F3N3O2S, 40
    "loratadine": "CCOC(=O)N1CCC(=C2C3=C(CCC4=C2N=CC=C4)C=C(C=C3)Cl)CC1",  # C22H23ClN2O2, 50
}
STRUCTURES = Path(__file__).resolve().parent / "structures"


def molecules() -> dict[str, Atoms]:
    """Benzene at ASE's geometry (MLFF-Distiller's MD case, whose energies its models are known
    by) and the drug-like molecules at their teacher minimum."""
    out = {"benzene": molecule("C6H6")}
    out.update({name: read(STRUCTURES / f"{name}.xyz") for name in DRUGLIKE})
    return out


def covalent_bonds(atoms: Atoms) -> set[tuple[int, int]]:
    """Pairs (i < j) closer than the sum of their covalent radii plus 0.3 Å."""
    radii = covalent_radii[atoms.numbers]
    dist = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    close = dist < radii[:, None] + radii[None] + 0.3
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(close), strict=True) if i < j}


def make_molecules(
    out_dir: str | Path = STRUCTURES,
    names: list[str] | None = None,
    fmax: float = 0.01,
    seed: int = 20260704,
) -> None:
    """Builds each molecule from its SMILES with RDKit (ETKDG, a fixed random seed), relaxes it
    with the teacher (ASE's BFGS until every force is below fmax eV/Å) and writes <name>.xyz.
    Needs RDKit, which only this function uses."""
    from ase.optimize import BFGS
    from rdkit import Chem
    from rdkit.Chem import AllChem

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names or list(DRUGLIKE):
        smiles = DRUGLIKE[name]
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        params = AllChem.ETKDGv3()
        params.randomSeed = seed
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise RuntimeError(f"{name}: RDKit could not embed {smiles}")
        atoms = Atoms(
            numbers=[a.GetAtomicNum() for a in mol.GetAtoms()],
            positions=mol.GetConformer().GetPositions(),
        )
        atoms.calc = ase_teacher(atoms)
        BFGS(atoms, logfile=None).run(fmax=fmax, steps=2000)
        forces = atoms.get_forces()
        if np.linalg.norm(forces, axis=1).max() >= fmax:
            raise RuntimeError(f"{name}: the relaxation did not reach fmax {fmax} eV/Å")
        # The relaxed structure must still be the molecule of the SMILES.
        bonds = covalent_bonds(atoms)
        expected = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))) for b in mol.GetBonds()}
        if bonds != expected:
            raise RuntimeError(
                f"{name}: bonds changed in the relaxation: {sorted(bonds ^ expected)}"
            )
        energy = atoms.get_potential_energy()
        result = Atoms(
            numbers=atoms.numbers, positions=atoms.positions - atoms.get_center_of_mass()
        )
        result.info = {"name": name, "smiles": smiles, "gfn2_energy_eV": round(float(energy), 6)}
        write(out_dir / f"{name}.xyz", result, format="extxyz")
        print(
            f"{name}: {result.get_chemical_formula()}, {len(result)} atoms, GFN2-xTB "
            f"{energy:.4f} eV, largest force {np.linalg.norm(forces, axis=1).max():.4f} eV/Å"
        )


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def molecular_box(
    mol: Atoms,
    copies_per_side: int,
    density: float,
    seed: int = 0,
    tilt: tuple[float, float, float] = (0.0, 0.0, 0.0),
    min_distance: float = 1.6,
) -> Atoms:
    """copies_per_side**3 randomly oriented copies of mol on a grid, periodic, at density
    (g/cm^3). Orientations are redrawn until no atom comes closer than min_distance to an atom
    of an earlier molecule (a liquid-like start, not an overlap). tilt = (xy, xz, yz) as fractions
    of the box length gives a triclinic cell in LAMMPS's convention (a along x, b in xy)."""
    rng = np.random.default_rng(seed)
    k = copies_per_side
    mass = mol.get_masses().sum() * k**3 / AVOGADRO  # g
    length = (mass / density) ** (1.0 / 3.0) * 1e8  # Å
    spacing = length / k
    centered = mol.positions - mol.get_center_of_mass()
    grid = np.empty((k, k, k, len(mol), 3))
    offsets = [np.array(o) for o in np.ndindex(3, 3, 3) if o != (1, 1, 1)]
    for ijk in np.ndindex(k, k, k):
        center = (np.array(ijk) + 0.5) * spacing
        # Neighbors placed before this one (lexicographic order), with periodic images.
        placed = []
        for o in offsets:
            nb = np.array(ijk) + o - 1
            if tuple(nb % k) < ijk:
                placed.append(grid[tuple(nb % k)] + (nb - nb % k) * spacing)
        others = np.concatenate(placed) if placed else np.empty((0, 3))
        for _ in range(200):
            trial = centered @ random_rotation(rng).T + center
            if (
                not len(others)
                or np.min(np.linalg.norm(trial[:, None, :] - others[None, :, :], axis=-1))
                >= min_distance
            ):
                break
        grid[ijk] = trial
    xy, xz, yz = (t * length for t in tilt)
    cell = np.array([[length, 0, 0], [xy, length, 0], [xz, yz, length]])
    # Fractional coordinates of the cubic arrangement carried into the (possibly tilted) cell.
    frac = grid.reshape(-1, 3) / length
    numbers = np.tile(mol.numbers, k**3)
    return Atoms(numbers=numbers, scaled_positions=frac % 1.0, cell=cell, pbc=True)


def molecule_ensemble(mol: Atoms, count: int, spacing: float) -> Atoms:
    """count copies of mol on a cubic grid, far enough apart not to interact (periodic box)."""
    per_side = int(np.ceil(count ** (1.0 / 3.0)))
    centered = mol.positions - mol.get_center_of_mass()
    positions, numbers = [], []
    for ijk in list(np.ndindex(per_side, per_side, per_side))[:count]:
        positions.append(centered + (np.array(ijk) + 0.5) * spacing)
        numbers.append(mol.numbers)
    return Atoms(
        numbers=np.concatenate(numbers),
        positions=np.concatenate(positions),
        cell=[per_side * spacing] * 3,
        pbc=True,
    )


def write_lammps_data(
    atoms: Atoms,
    path: str | Path,
    elements: list[str],
    vacuum: float = 20.0,
    velocities: bool = False,
) -> None:
    """atom_style atomic data file; type i+1 is elements[i]. A non-periodic system gets a box
    of 'vacuum' Å around it. Periodic cells must be in LAMMPS's lower-triangular form.
    velocities: also write the atoms' velocities, in Å/ps (units metal)."""
    types = np.array([elements.index(s) + 1 for s in atoms.get_chemical_symbols()])
    pos = atoms.positions
    if atoms.pbc.any():
        cell = np.asarray(atoms.cell)
        if abs(cell[0, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) > 1e-12:
            raise ValueError("cell must be lower-triangular (a along x, b in the xy plane)")
        lo = np.zeros(3)
        hi = np.diag(cell)
        xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    else:
        lo = pos.min(axis=0) - vacuum
        hi = pos.max(axis=0) + vacuum
        xy = xz = yz = 0.0
    lines = [
        f"# {atoms.get_chemical_formula()} written by mlff_student",
        "",
        f"{len(atoms)} atoms",
        f"{len(elements)} atom types",
        "",
    ]
    for k, axis in enumerate("xyz"):
        lines.append(f"{lo[k]:.12f} {hi[k]:.12f} {axis}lo {axis}hi")
    if xy or xz or yz:
        lines.append(f"{xy:.12f} {xz:.12f} {yz:.12f} xy xz yz")
    lines += ["", "Masses", ""]
    lines += [f"{i + 1} {atomic_masses[atomic_numbers[e]]:.6f}" for i, e in enumerate(elements)]
    lines += ["", "Atoms # atomic", ""]
    lines += [
        f"{i + 1} {t} {p[0]:.12f} {p[1]:.12f} {p[2]:.12f}"
        for i, (t, p) in enumerate(zip(types, pos, strict=True))
    ]
    if velocities:
        v = atoms.get_velocities() * (units.fs * 1000.0)  # ASE's Å per time unit -> Å/ps
        lines += ["", "Velocities", ""]
        lines += [f"{i + 1} {w[0]:.15e} {w[1]:.15e} {w[2]:.15e}" for i, w in enumerate(v)]
    Path(path).write_text("\n".join(lines) + "\n")
