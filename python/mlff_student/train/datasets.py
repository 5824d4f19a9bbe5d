"""Labelled datasets as arrays, and their graphs batched for training."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from ase.data import chemical_symbols

from ..errors import InputError, readable_file

# What training reads of every dataset; distill also records the 'names' and 'sampling' of the
# datasets it trains on.
FRAME_KEYS = ("natoms", "numbers", "positions", "energy", "forces")
DATASET_KEYS = (*FRAME_KEYS, "names", "sampling")


def read_dataset(path: str | Path, keys: tuple = DATASET_KEYS) -> dict:
    """A labelled dataset (.npz) as distill writes it, with the keys given, whose arrays agree
    in size: frames that fail only in training would waste its set-up."""
    remake = "give one that distill made, or a path that does not exist to make one there"
    path = readable_file(path, "a labelled dataset (.npz)")
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"PK":  # np.load would take anything else for a pickle
        reason = "it is empty" if not head else "not a zip archive"
        raise InputError(path, f"not an .npz dataset ({reason}): {remake}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = dict(archive)
    except Exception as err:  # numpy fails on a truncated or foreign archive in many ways
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(path, f"not an .npz dataset ({reason}): {remake}") from None
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputError(
            path,
            f"lacks {', '.join(map(repr, missing))} (has {', '.join(data) or 'nothing'}): "
            + remake,
        )
    natoms, atoms = data["natoms"], int(np.sum(data["natoms"]))
    sizes = {"numbers": atoms, "positions": atoms, "forces": atoms, "energy": len(natoms)}
    for key in ("cell", "virial"):
        if key in data:
            sizes[key] = len(natoms)
    for key, size in sizes.items():
        if len(data[key]) != size:
            rows = "atoms" if key in ("numbers", "positions", "forces") else "frames"
            raise InputError(
                path, f"{key!r} has {len(data[key])} rows for {size} {rows} of 'natoms': {remake}"
            )
    z = np.asarray(data["numbers"])
    if z.size and not (z.min() >= 1 and z.max() < len(chemical_symbols)):
        raise InputError(
            path, f"'numbers' holds {z.min()}..{z.max()}, not atomic numbers: {remake}"
        )
    return data


def frames_to_dataset(frames: list, sampling, names: list) -> dict:
    return {
        "natoms": np.array([len(f[0]) for f in frames]),
        "numbers": np.concatenate([f[0] for f in frames]),
        "positions": np.concatenate([f[1] for f in frames]),
        "energy": np.array([f[2] for f in frames]),
        "forces": np.concatenate([f[3] for f in frames]),
        "cell": np.array([f[4] for f in frames]),
        "virial": np.array([f[5] for f in frames]),
        "molecule": np.zeros(len(frames), dtype=np.int64),
        "names": np.array(names),
        "sampling": np.array(json.dumps(asdict(sampling))),
    }


def merge_datasets(parts: list) -> dict:
    """One dataset of several (frames concatenated; datasets without cells are molecules, those
    without virials have NaN ones, which training leaves out)."""

    def cells(d):
        return d["cell"] if "cell" in d else np.zeros((len(d["natoms"]), 3, 3))

    def virials(d):
        return d["virial"] if "virial" in d else np.full((len(d["natoms"]), 3, 3), np.nan)

    return {
        "natoms": np.concatenate([d["natoms"] for d in parts]),
        "numbers": np.concatenate([d["numbers"] for d in parts]),
        "positions": np.concatenate([d["positions"] for d in parts]),
        "energy": np.concatenate([d["energy"] for d in parts]),
        "forces": np.concatenate([d["forces"] for d in parts]),
        "cell": np.concatenate([cells(d) for d in parts]),
        "virial": np.concatenate([virials(d) for d in parts]),
    }


class GraphSet:
    """A labelled dataset with every molecule's edges (all pairs within the cutoff) precomputed.
    Batch indices are worked out on the host from host copies of the sizes, so that building a
    batch needs no read-back from the GPU; coordinates and labels stay on the device."""

    def __init__(self, data: dict, cutoff: float, device: torch.device):
        from ase.neighborlist import primitive_neighbor_list

        self.device = device
        self.natoms = np.asarray(data["natoms"])
        self.node_start = np.concatenate([[0], np.cumsum(self.natoms)[:-1]])
        cells = data["cell"] if "cell" in data else np.zeros((len(self.natoms), 3, 3))
        src, dst, shift = [], [], []
        for start, n, cell in zip(self.node_start, self.natoms, cells, strict=True):
            pos = data["positions"][start : start + n]
            if cell.any():
                # Periodic: edges to every image within the cutoff, with the image's lattice shift.
                # An edge's vector is pos[src] + shift - pos[dst], as in LAMMPS's ghost atoms.
                center, neighbor, image = primitive_neighbor_list(
                    "ijS", [True] * 3, cell, pos, cutoff
                )
                src.append(neighbor)
                dst.append(center)
                shift.append(image @ cell)
            else:
                dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
                i, j = np.nonzero((dist <= cutoff) & ~np.eye(n, dtype=bool))
                src.append(i)
                dst.append(j)
                shift.append(np.zeros((len(i), 3)))
        self.nedges = np.array([len(i) for i in src])
        self.edge_start = np.concatenate([[0], np.cumsum(self.nedges)[:-1]])
        self.src, self.dst = np.concatenate(src), np.concatenate(dst)
        self.shift = torch.as_tensor(np.concatenate(shift), dtype=torch.float32, device=device)
        self.energy = np.asarray(data["energy"], dtype=np.float64)
        self.z = torch.as_tensor(data["numbers"], dtype=torch.int64, device=device)
        self.positions = torch.as_tensor(data["positions"], dtype=torch.float32, device=device)
        self.forces = torch.as_tensor(data["forces"], dtype=torch.float32, device=device)
        # The teacher's virial (eV, LAMMPS's sign) where a periodic frame has one; NaN elsewhere.
        virial = data["virial"] if "virial" in data else np.full((len(self.natoms), 3, 3), np.nan)
        virial = np.where(cells.any(axis=(1, 2))[:, None, None], virial, np.nan)
        self.virial = torch.as_tensor(virial, dtype=torch.float64, device=device)

    @staticmethod
    def _ranges(start: np.ndarray, count: np.ndarray):
        """Concatenated arange(start[k], start[k] + count[k]) and each element's batch slot."""
        slot = np.repeat(np.arange(len(count)), count)
        first = np.cumsum(count) - count
        return start[slot] + np.arange(count.sum()) - first[slot], slot

    def batch(self, configs: np.ndarray) -> dict:
        natoms = self.natoms[configs]
        nodes, graph = self._ranges(self.node_start[configs], natoms)
        edges, edge_graph = self._ranges(self.edge_start[configs], self.nedges[configs])
        offset = (np.cumsum(natoms) - natoms)[edge_graph]

        def to(a, dtype=torch.int64):
            return torch.as_tensor(a, dtype=dtype).to(self.device, non_blocking=True)

        nodes = to(nodes)
        return {
            "z": self.z[nodes],
            "pos": self.positions[nodes],
            "forces": self.forces[nodes],
            "src": to(self.src[edges] + offset),
            "dst": to(self.dst[edges] + offset),
            "shift": self.shift[to(edges)],
            "graph": to(graph),
            "edge_graph": to(edge_graph),
            "virial": self.virial[to(configs)],
            "natoms": to(natoms),
            "energy": to(self.energy[configs], torch.float64),
        }
