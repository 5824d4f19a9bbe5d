"""Molecule datasets: the teacher's Langevin MD of G2 molecules and displaced copies, labelled.

Every stored frame is rotated at random, so the training set shows each molecule in all
orientations.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.systems import random_rotation
from ..data.teacher import Teacher, teacher_langevin

ELEMENTS = ("H", "C", "N", "O", "F", "S", "Cl")


# Carbenes, ozone and hypervalent ClF3: species a closed-shell singlet teacher describes poorly.
EXCLUDED = {"CH2_s1A1d", "CH2_s3B1d", "O3", "ClF3"}


def training_molecules(min_atoms: int = 3) -> dict:
    """name -> ase.Atoms: G2 molecules made only of ELEMENTS, closed-shell, with min_atoms or
    more."""
    from ase.collections import g2

    chosen = {}
    for name in g2.names:
        atoms = g2[name]
        if (
            set(atoms.get_chemical_symbols()) <= set(ELEMENTS)
            and len(atoms) >= min_atoms
            and sum(atoms.numbers) % 2 == 0
            and name not in EXCLUDED
        ):
            chosen[name] = atoms
    return chosen


@dataclass
class Sampling:
    temperatures: tuple = (300.0, 600.0)
    frames: int = 60  # per molecule and temperature
    every: int = 20  # MD steps of 0.5 fs between frames
    burn_in: int = 200
    displaced: int = 30  # per molecule: MD frames with Gaussian noise added
    displacement: float = 0.05  # Å, per Cartesian component
    seed: int = 0


def sample_molecule(task) -> list:
    """Frames (numbers, positions, energy, forces) of one molecule: Langevin MD of the teacher at
    each temperature, then displaced copies. A trajectory whose SCF fails ends there."""
    index, name, atoms, sampling = task
    rng = np.random.default_rng([sampling.seed, index])
    frames, md_positions = [], []

    def keep(positions, energy, forces):
        rot = random_rotation(rng)
        centered = positions - positions.mean(axis=0)
        frames.append((atoms.numbers.copy(), centered @ rot.T, float(energy), forces @ rot.T))

    for temperature in sampling.temperatures:
        md, dyn = teacher_langevin(atoms, temperature, rng)  # frames are centred when kept
        try:
            dyn.run(sampling.burn_in)
            for _ in range(sampling.frames):
                dyn.run(sampling.every)
                keep(md.positions, md.get_potential_energy(), md.get_forces())
                md_positions.append(md.positions.copy())
        except Exception as err:  # an SCF that does not converge on a hot geometry
            print(f"  {name} at {temperature:.0f} K: trajectory ended early ({err})", flush=True)
    teacher = Teacher(atoms.numbers, atoms.positions)
    for k in rng.choice(
        len(md_positions), size=min(sampling.displaced, len(md_positions)), replace=False
    ):
        positions = md_positions[k] + rng.normal(scale=sampling.displacement, size=(len(atoms), 3))
        try:
            keep(positions, *teacher(positions))
        except Exception as err:  # the SCF did not converge: the frame is left out
            print(f"  {name}: a displaced frame was left out ({err})", flush=True)
    return frames


@contextmanager
def one_thread_per_teacher():
    """One OpenMP thread per teacher while the block runs (spawned workers inherit it): the
    parallelism is over molecules or chains."""
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = threads


def make_dataset(path: Path, sampling: Sampling, workers: int, names: list | None = None) -> dict:
    """Samples and labels every molecule (in parallel processes) and writes an .npz dataset."""
    molecules = training_molecules()
    if names:
        molecules = {n: molecules[n] for n in names}
    tasks = [(i, n, a, sampling) for i, (n, a) in enumerate(sorted(molecules.items()))]
    start = time.perf_counter()
    frames, molecule_of = [], []
    with one_thread_per_teacher(), multiprocessing.get_context("spawn").Pool(workers) as pool:
        for i, result in enumerate(pool.imap(sample_molecule, tasks)):
            frames += result
            molecule_of += [i] * len(result)
            print(
                f"  labelled {tasks[i][1]:<12} {len(result):4d} frames "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    data = {
        "natoms": np.array([len(f[0]) for f in frames]),
        "numbers": np.concatenate([f[0] for f in frames]),
        "positions": np.concatenate([f[1] for f in frames]),
        "energy": np.array([f[2] for f in frames]),
        "forces": np.concatenate([f[3] for f in frames]),
        "cell": np.zeros((len(frames), 3, 3)),  # no lattice: isolated molecules
        "molecule": np.array(molecule_of),
        "names": np.array([t[1] for t in tasks]),
        "sampling": np.array(json.dumps(asdict(sampling))),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **data)
    print(
        f"dataset: {len(frames)} frames of {len(tasks)} molecules, "
        f"{data['natoms'].sum()} atoms, labelled in {time.perf_counter() - start:.0f} s -> {path}"
    )
    return data
