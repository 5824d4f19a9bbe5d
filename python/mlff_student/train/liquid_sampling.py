"""Liquid datasets: chains of periodic liquid frames (data/liquid.py), labelled by the teacher."""

from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.liquid import liquid_frames
from ..data.teacher import Teacher
from .datasets import frames_to_dataset
from .sampling import one_thread_per_teacher


@dataclass
class LiquidSampling:
    """Periodic cells of one liquid (see data/liquid.py): every combination of temperature,
    density and cell size is a chain of `frames_per_chain` frames, repeated with new seeds up to
    `frames` in all (the last chain may be shorter)."""

    molecule: str = "C6H6"
    temperatures: tuple = (250.0, 300.0, 350.0, 400.0, 450.0)
    densities: tuple = (0.84, 0.87, 0.90)  # g/cm^3
    cell_molecules: tuple = (4, 8)
    frames: int = 600
    frames_per_chain: int = 10
    seed: int = 0

    def chains(self) -> list:
        combos = [
            (t, d, n)
            for t in self.temperatures
            for d in self.densities
            for n in self.cell_molecules
        ]
        count = math.ceil(self.frames / self.frames_per_chain)
        return [
            (
                k,
                *combos[k % len(combos)],
                min(self.frames_per_chain, self.frames - k * self.frames_per_chain),
            )
            for k in range(count)
        ]


def sample_liquid_chain(task) -> list:
    """Frames (numbers, positions, energy, forces, cell, virial) of one chain, labelled by the
    periodic teacher. A frame whose SCF fails is left out."""
    from ase.build import molecule

    index, temperature, density, molecules, count, sampling = task
    frames = []
    for atoms in liquid_frames(
        molecule(sampling.molecule),
        molecules,
        density,
        temperature,
        count,
        seed=sampling.seed * 100003 + index,
    ):
        cell = np.asarray(atoms.cell)
        try:
            energy, forces, virial = Teacher(atoms.numbers, atoms.positions, cell).label(
                atoms.positions
            )
        except Exception as err:  # the SCF did not converge: the frame is left out
            print(f"  liquid chain {index}: a frame was left out ({err})", flush=True)
            continue
        frames.append(
            (atoms.numbers.copy(), atoms.positions.copy(), float(energy), forces, cell, virial)
        )
    return frames


def make_liquid_dataset(path: Path, sampling: LiquidSampling, workers: int) -> dict:
    """Samples and labels liquid chains in parallel processes and writes an .npz dataset. Finished
    chains are kept in <path>.partial.npz, so that an interrupted run continues where it was."""
    partial = path.with_suffix(".partial.npz")
    done, frames = set(), []
    if partial.exists():
        kept = np.load(partial, allow_pickle=False)
        done = set(kept["chains"].tolist())
        start_atoms = np.concatenate([[0], np.cumsum(kept["natoms"])])
        for k in range(len(kept["natoms"])):
            a, b = start_atoms[k], start_atoms[k + 1]
            frames.append(
                (
                    kept["numbers"][a:b],
                    kept["positions"][a:b],
                    float(kept["energy"][k]),
                    kept["forces"][a:b],
                    kept["cell"][k],
                    kept["virial"][k],
                )
            )
        print(f"  continuing: {len(done)} chains ({len(frames)} frames) from {partial}")
    tasks = [(*chain, sampling) for chain in sampling.chains() if chain[0] not in done]
    start = time.perf_counter()
    with one_thread_per_teacher(), multiprocessing.get_context("spawn").Pool(workers) as pool:
        for task, result in zip(tasks, pool.imap(sample_liquid_chain, tasks), strict=True):
            frames += result
            done.add(task[0])
            print(
                f"  liquid chain {task[0]:3d} ({task[1]:.0f} K, {task[2]:.2f} g/cm3, "
                f"{task[3]} molecules): {len(result)} frames, {len(frames)} in all "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                partial,
                chains=np.array(sorted(done)),
                **frames_to_dataset(frames, sampling, [sampling.molecule]),
            )
    data = frames_to_dataset(frames, sampling, [sampling.molecule])
    np.savez_compressed(path, **data)
    partial.unlink(missing_ok=True)
    print(
        f"liquid dataset: {len(frames)} frames, {data['natoms'].sum()} atoms, labelled in "
        f"{time.perf_counter() - start:.0f} s -> {path}"
    )
    return data
