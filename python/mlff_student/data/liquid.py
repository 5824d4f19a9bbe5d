"""Liquid configurations for distillation, labelled by the periodic teacher.

Teacher MD of a liquid cell would cost seconds per step (periodic GFN2-xTB: about 5 s for 96
atoms on one core), so configurations are sampled in two cheap, independent parts and only the
finished frames go to the teacher:

- **Packing.** Metropolis Monte Carlo of rigid molecules in a cubic periodic cell at the target
  density and temperature, under a Lennard-Jones potential between atoms of different molecules
  (OPLS-AA parameters for aromatic carbon and hydrogen). It gives liquid-like contacts and
  orientations at the right density; its energies are never trained on.
- **Internal geometry.** Each molecule of a frame is replaced by a snapshot of the teacher's own
  gas-phase Langevin MD at the same temperature, turned onto the molecule's rigid pose, so bond
  lengths and angles have the thermal spread the teacher gives them.

    frames = liquid_frames(molecule("C6H6"), molecules=8, density=0.87, temperature=300.0, count=20)
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from .systems import random_rotation
from .teacher import teacher_langevin

AVOGADRO = 6.02214076e23
KCAL_PER_MOL_EV = 0.0433641153
# OPLS-AA aromatic carbon and hydrogen (sigma in Å, epsilon in kcal/mol), geometric mixing.
LENNARD_JONES = {"C": (3.55, 0.070), "H": (2.42, 0.030)}
BOLTZMANN_EV = 8.617333262e-5


def cell_length(mol: Atoms, molecules: int, density: float) -> float:
    """Edge (Å) of the cube that holds `molecules` copies of mol at density (g/cm^3)."""
    mass = mol.get_masses().sum() * molecules / AVOGADRO
    return (mass / density) ** (1.0 / 3.0) * 1e8


def small_rotation(rng: np.random.Generator, angle: float) -> np.ndarray:
    """A rotation about a random axis by an angle drawn uniformly from [-angle, angle]."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    theta = rng.uniform(-angle, angle)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * k @ k


class RigidPacking:
    """Metropolis Monte Carlo of rigid copies of one molecule in a periodic cube (sampling only)."""

    def __init__(
        self,
        mol: Atoms,
        molecules: int,
        length: float,
        temperature: float,
        rng: np.random.Generator,
    ):
        symbols = mol.get_chemical_symbols()
        missing = set(symbols) - set(LENNARD_JONES)
        if missing:
            raise ValueError(
                f"no packing parameters for {sorted(missing)}: the liquid sampler "
                f"knows {sorted(LENNARD_JONES)}"
            )
        sigma = np.array([LENNARD_JONES[s][0] for s in symbols])
        epsilon = np.array([LENNARD_JONES[s][1] for s in symbols]) * KCAL_PER_MOL_EV
        self.sigma6 = (np.sqrt(sigma[:, None] * sigma[None, :])) ** 6
        self.epsilon = np.sqrt(epsilon[:, None] * epsilon[None, :])
        self.body = mol.positions - mol.get_center_of_mass()
        self.length = length
        self.cutoff2 = min(0.5 * length, 8.0) ** 2
        self.beta = 1.0 / (BOLTZMANN_EV * temperature)
        self.rng = rng
        # Start on a grid (random free sites when the count is not a cube) in random orientations.
        k = int(np.ceil(molecules ** (1.0 / 3.0)))
        sites = np.array(list(np.ndindex(k, k, k)))[rng.permutation(k**3)[:molecules]]
        self.centers = (sites + 0.5) * length / k
        self.rotations = np.array([random_rotation(rng) for _ in range(molecules)])
        self.step, self.angle = 0.3, 0.3

    def atoms_of(self, i: int, center=None, rotation=None) -> np.ndarray:
        center = self.centers[i] if center is None else center
        rotation = self.rotations[i] if rotation is None else rotation
        return self.body @ rotation.T + center

    def energy_of(self, i: int, positions: np.ndarray) -> float:
        """Lennard-Jones energy (eV) of molecule i at `positions` with every other molecule."""
        total = 0.0
        for j in range(len(self.centers)):
            if j == i:
                continue
            d = positions[:, None, :] - self.atoms_of(j)[None, :, :]
            d -= self.length * np.round(d / self.length)
            r2 = np.einsum("abk,abk->ab", d, d)
            inside = r2 < self.cutoff2
            s6 = self.sigma6 / r2**3
            total += np.sum(np.where(inside, 4.0 * self.epsilon * (s6 * s6 - s6), 0.0))
        return total

    def sweep(self) -> float:
        """One trial move per molecule; returns the acceptance ratio."""
        accepted = 0
        for i in self.rng.permutation(len(self.centers)):
            center = (self.centers[i] + self.rng.uniform(-self.step, self.step, 3)) % self.length
            rotation = small_rotation(self.rng, self.angle) @ self.rotations[i]
            delta = self.energy_of(i, self.atoms_of(i, center, rotation)) - self.energy_of(
                i, self.atoms_of(i)
            )
            if delta <= 0.0 or self.rng.random() < np.exp(-self.beta * delta):
                self.centers[i], self.rotations[i] = center, rotation
                accepted += 1
        return accepted / len(self.centers)

    def equilibrate(self, sweeps: int) -> None:
        """Sweeps that also tune the move sizes towards 40 % acceptance."""
        for _ in range(sweeps):
            ratio = self.sweep()
            scale = 1.05 if ratio > 0.4 else 0.95
            self.step = float(np.clip(self.step * scale, 0.02, 1.0))
            self.angle = float(np.clip(self.angle * scale, 0.02, 1.0))


def kabsch(mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation that best turns centred `mobile` onto centred `target` (rows are atoms)."""
    u, _, vt = np.linalg.svd(mobile.T @ target)
    d = np.sign(np.linalg.det(u @ vt))
    return (u @ np.diag([1.0, 1.0, d]) @ vt).T


def internal_geometries(
    mol: Atoms, temperature: float, count: int, every: int, rng: np.random.Generator
) -> np.ndarray:
    """[count, atoms, 3] snapshots of the teacher's gas-phase Langevin MD (0.5 fs steps, `every`
    steps apart after 1 ps), centred and turned onto mol's own orientation (Kabsch)."""
    md, dyn = teacher_langevin(mol, temperature, rng)
    dyn.run(2000)
    body = mol.positions - mol.get_center_of_mass()
    snapshots = np.empty((count, len(mol), 3))
    for k in range(count):
        dyn.run(every)
        centred = md.positions - md.get_center_of_mass()
        snapshots[k] = centred @ kabsch(centred, body).T
    return snapshots


def liquid_frames(
    mol: Atoms,
    molecules: int,
    density: float,
    temperature: float,
    count: int,
    seed: int,
    sweeps_between: int = 20,
    min_distance: float = 1.5,
) -> list[Atoms]:
    """`count` periodic frames of `molecules` copies of mol at density (g/cm^3) and temperature
    (K), sampled as the module docstring says. Frames whose flexible molecules come closer than
    min_distance (Å) between molecules are drawn again."""
    rng = np.random.default_rng(seed)
    length = cell_length(mol, molecules, density)
    packing = RigidPacking(mol, molecules, length, temperature, rng)
    packing.equilibrate(300)
    # Each molecule of a frame takes a shape of its own, from four per frame.
    shapes = internal_geometries(mol, temperature, max(4 * count, molecules), 10, rng)
    frames = []
    while len(frames) < count:
        for _ in range(sweeps_between):
            packing.sweep()
        picks = rng.choice(len(shapes), size=molecules, replace=False)
        parts = [
            shapes[p] @ packing.rotations[i].T + packing.centers[i] for i, p in enumerate(picks)
        ]
        positions = np.concatenate(parts)
        owner = np.repeat(np.arange(molecules), len(mol))
        d = positions[:, None, :] - positions[None, :, :]
        d -= length * np.round(d / length)
        r = np.linalg.norm(d, axis=-1)
        if r[owner[:, None] != owner[None, :]].min() < min_distance:
            continue
        frames.append(
            Atoms(
                numbers=np.tile(mol.numbers, molecules),
                positions=positions % length,
                cell=[length] * 3,
                pbc=True,
            )
        )
    return frames
