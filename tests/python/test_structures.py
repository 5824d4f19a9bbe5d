"""The shipped structures (mlff_student/data/structures, made by python -m mlff_student
molecules): the molecules they name, each one molecule at a minimum of the teacher."""

import numpy as np
import pytest

from mlff_student.data.systems import DRUGLIKE, covalent_bonds, molecules
from mlff_student.data.teacher import Teacher

FORMULAS = {
    "benzene": "C6H6",
    "caffeine": "C8H10N4O2",
    "celecoxib": "C17H14F3N3O2S",
    "loratadine": "C22H23ClN2O2",
}


def test_molecules_have_their_formulas():
    mols = molecules()
    assert {name: atoms.get_chemical_formula("hill") for name, atoms in mols.items()} == FORMULAS
    assert len(mols["loratadine"]) == 50
    elements = set().union(*(atoms.get_chemical_symbols() for atoms in mols.values()))
    assert elements == {"H", "C", "N", "O", "F", "S", "Cl"}  # all that the students know


@pytest.mark.parametrize("name", list(DRUGLIKE))
def test_structure_is_one_molecule_at_a_teacher_minimum(name):
    atoms = molecules()[name]
    assert atoms.info["smiles"] == DRUGLIKE[name]
    reached, frontier = {0}, [0]
    bonds = covalent_bonds(atoms)
    while frontier:
        i = frontier.pop()
        for j in {b for a, b in bonds if a == i} | {a for a, b in bonds if b == i}:
            if j not in reached:
                reached.add(j)
                frontier.append(j)
    assert len(reached) == len(atoms), "not one connected molecule"
    energy, forces = Teacher(atoms.numbers, atoms.positions)(atoms.positions)
    # Relaxed to 0.01 eV/Å; the file keeps 8 decimals of the coordinates.
    assert np.linalg.norm(forces, axis=1).max() < 0.02
    assert energy == pytest.approx(atoms.info["gfn2_energy_eV"], abs=1e-4)
