"""The teacher: GFN2-xTB energies and forces through PyPI's ``tblite``, which runs offline on CPUs.

It labels the distillation datasets, relaxes the shipped structures and runs the Langevin MD
their configurations are sampled from.
"""

from __future__ import annotations

import numpy as np

HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903


class Teacher:
    """GFN2-xTB energies (eV), forces (eV/Å) and, for a periodic cell (`cell`: rows are the
    lattice vectors, Å), virials of one structure; reuses tblite's set-up between calls."""

    def __init__(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray | None = None):
        from tblite.interface import Calculator

        periodic = (
            {}
            if cell is None
            else {
                "lattice": np.asarray(cell) / BOHR_ANGSTROM,
                "periodic": np.array([True, True, True]),
            }
        )
        self.calc = Calculator(
            "GFN2-xTB", np.asarray(numbers), positions / BOHR_ANGSTROM, **periodic
        )
        self.calc.set("verbosity", 0)
        self.periodic = cell is not None

    def __call__(self, positions: np.ndarray):
        energy, forces, _ = self.label(positions)
        return energy, forces

    def label(self, positions: np.ndarray):
        """(energy, forces, virial): the virial (eV, 3x3) is LAMMPS's, -dE/d(strain), so that
        the pressure is (2 E_kin + trace) / (3 V); None for a molecule."""
        self.calc.update(positions=positions / BOHR_ANGSTROM)
        result = self.calc.singlepoint()
        energy = result.get("energy") * HARTREE_EV
        forces = -result.get("gradient") * HARTREE_EV / BOHR_ANGSTROM
        virial = -result.get("virial") * HARTREE_EV if self.periodic else None
        return energy, forces, virial


def ase_teacher(atoms):
    """An ASE calculator of the teacher, set up for atoms' elements (energy and forces)."""
    from ase.calculators.calculator import Calculator, all_changes

    class TeacherCalculator(Calculator):
        implemented_properties = ["energy", "forces"]

        def __init__(self):
            super().__init__()
            self.teacher = Teacher(atoms.numbers, atoms.positions)

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            energy, forces = self.teacher(self.atoms.positions)
            self.results = {"energy": energy, "forces": forces}

    return TeacherCalculator()


def teacher_langevin(atoms, temperature: float, rng: np.random.Generator):
    """(atoms, dynamics): the teacher's Langevin MD of a copy of atoms, 0.5 fs steps, from
    Maxwell-Boltzmann velocities without net momentum. The centre of mass may wander."""
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    md = atoms.copy()
    md.calc = ase_teacher(md)
    MaxwellBoltzmannDistribution(md, temperature_K=temperature, rng=rng)
    Stationary(md)
    return md, Langevin(
        md,
        0.5 * units.fs,
        temperature_K=temperature,
        friction=0.02 / units.fs,
        fixcm=False,
        rng=rng,
    )
