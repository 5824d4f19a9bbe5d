"""Distilling a student from GFN2-xTB: sample configurations, label them, train, export.

The teacher is GFN2-xTB through PyPI's ``tblite``, which runs offline on CPUs. Configurations come
from the teacher's own Langevin MD of small closed-shell molecules with the seed's elements (ASE's
G2 set: hydrocarbons, aromatics, alcohols, amines, amides, nitriles, thiols, halides...), plus
randomly displaced copies of MD frames; every stored frame is rotated at random, so the training
set shows each molecule in all orientations. Training fits per-element reference energies by
least squares first, then the network learns the rest from energies and forces.

    python -m mlff_student distill --out potentials/student_gfn2 --dataset data.npz \
        [--test-dataset test.npz] [--device cuda] [--minutes M | --epochs N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .model import StudentConfig, StudentForceField
from .systems import random_rotation

HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903
ELEMENTS = ("H", "C", "N", "O", "F", "S", "Cl")


# Carbenes, ozone and hypervalent ClF3: species a closed-shell singlet teacher describes poorly.
EXCLUDED = {"CH2_s1A1d", "CH2_s3B1d", "O3", "ClF3"}


def training_molecules(min_atoms: int = 3) -> dict:
    """name -> ase.Atoms: G2 molecules made only of ELEMENTS, closed-shell, with min_atoms or more."""
    from ase.collections import g2

    chosen = {}
    for name in g2.names:
        atoms = g2[name]
        if (set(atoms.get_chemical_symbols()) <= set(ELEMENTS) and len(atoms) >= min_atoms
                and sum(atoms.numbers) % 2 == 0 and name not in EXCLUDED):
            chosen[name] = atoms
    return chosen


class Teacher:
    """GFN2-xTB energies (eV) and forces (eV/Å) of one molecule, or of a periodic cell when
    `cell` (rows are the lattice vectors, Å) is given; reuses tblite's set-up between calls."""

    def __init__(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray | None = None):
        from tblite.interface import Calculator

        periodic = {} if cell is None else {"lattice": np.asarray(cell) / BOHR_ANGSTROM,
                                           "periodic": np.array([True, True, True])}
        self.calc = Calculator("GFN2-xTB", np.asarray(numbers), positions / BOHR_ANGSTROM,
                               **periodic)
        self.calc.set("verbosity", 0)

    def __call__(self, positions: np.ndarray):
        self.calc.update(positions=positions / BOHR_ANGSTROM)
        result = self.calc.singlepoint()
        energy = result.get("energy") * HARTREE_EV
        forces = -result.get("gradient") * HARTREE_EV / BOHR_ANGSTROM
        return energy, forces


def ase_teacher(atoms):
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


@dataclass
class Sampling:
    temperatures: tuple = (300.0, 600.0)
    frames: int = 60  # per molecule and temperature
    every: int = 20  # MD steps of 0.5 fs between frames
    burn_in: int = 200
    displaced: int = 30  # per molecule: MD frames with Gaussian noise added
    displacement: float = 0.05  # Å, per Cartesian component
    seed: int = 0


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
    return md, Langevin(md, 0.5 * units.fs, temperature_K=temperature,
                        friction=0.02 / units.fs, fixcm=False, rng=rng)


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
    for k in rng.choice(len(md_positions), size=min(sampling.displaced, len(md_positions)),
                        replace=False):
        positions = md_positions[k] + rng.normal(scale=sampling.displacement, size=(len(atoms), 3))
        try:
            keep(positions, *teacher(positions))
        except Exception as err:  # the SCF did not converge: the frame is left out
            print(f"  {name}: a displaced frame was left out ({err})", flush=True)
    return frames


def make_dataset(path: Path, sampling: Sampling, workers: int, names: list | None = None) -> dict:
    """Samples and labels every molecule (in parallel processes) and writes an .npz dataset."""
    import multiprocessing

    molecules = training_molecules()
    if names:
        molecules = {n: molecules[n] for n in names}
    tasks = [(i, n, a, sampling) for i, (n, a) in enumerate(sorted(molecules.items()))]
    start = time.perf_counter()
    # One OpenMP thread per teacher (the workers inherit it): the parallelism is over molecules.
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    frames, molecule_of = [], []
    try:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for i, result in enumerate(pool.imap(sample_molecule, tasks)):
                frames += result
                molecule_of += [i] * len(result)
                print(f"  labelled {tasks[i][1]:<12} {len(result):4d} frames "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = threads
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
    print(f"dataset: {len(frames)} frames of {len(tasks)} molecules, "
          f"{data['natoms'].sum()} atoms, labelled in {time.perf_counter() - start:.0f} s -> {path}")
    return data


@dataclass
class LiquidSampling:
    """Periodic cells of one liquid (see liquid.py): every combination of temperature, density and
    cell size is a chain of `frames_per_chain` frames, repeated with new seeds up to `frames` in
    all (the last chain may be shorter)."""
    molecule: str = "C6H6"
    temperatures: tuple = (250.0, 300.0, 350.0, 400.0, 450.0)
    densities: tuple = (0.84, 0.87, 0.90)  # g/cm^3
    cell_molecules: tuple = (4, 8)
    frames: int = 600
    frames_per_chain: int = 10
    seed: int = 0

    def chains(self) -> list:
        combos = [(t, d, n) for t in self.temperatures for d in self.densities
                  for n in self.cell_molecules]
        count = math.ceil(self.frames / self.frames_per_chain)
        return [(k, *combos[k % len(combos)],
                 min(self.frames_per_chain, self.frames - k * self.frames_per_chain))
                for k in range(count)]


def sample_liquid_chain(task) -> list:
    """Frames (numbers, positions, energy, forces, cell) of one chain, labelled by the periodic
    teacher. A frame whose SCF fails is left out."""
    from ase.build import molecule

    from .liquid import liquid_frames

    index, temperature, density, molecules, count, sampling = task
    frames = []
    for atoms in liquid_frames(molecule(sampling.molecule), molecules, density, temperature, count,
                               seed=sampling.seed * 100003 + index):
        cell = np.asarray(atoms.cell)
        try:
            energy, forces = Teacher(atoms.numbers, atoms.positions, cell)(atoms.positions)
        except Exception as err:  # the SCF did not converge: the frame is left out
            print(f"  liquid chain {index}: a frame was left out ({err})", flush=True)
            continue
        frames.append((atoms.numbers.copy(), atoms.positions.copy(), float(energy), forces, cell))
    return frames


def frames_to_dataset(frames: list, sampling, names: list) -> dict:
    return {
        "natoms": np.array([len(f[0]) for f in frames]),
        "numbers": np.concatenate([f[0] for f in frames]),
        "positions": np.concatenate([f[1] for f in frames]),
        "energy": np.array([f[2] for f in frames]),
        "forces": np.concatenate([f[3] for f in frames]),
        "cell": np.array([f[4] for f in frames]),
        "molecule": np.zeros(len(frames), dtype=np.int64),
        "names": np.array(names),
        "sampling": np.array(json.dumps(asdict(sampling))),
    }


def make_liquid_dataset(path: Path, sampling: LiquidSampling, workers: int) -> dict:
    """Samples and labels liquid chains in parallel processes and writes an .npz dataset. Finished
    chains are kept in <path>.partial.npz, so that an interrupted run continues where it was."""
    import multiprocessing

    partial = path.with_suffix(".partial.npz")
    done, frames = set(), []
    if partial.exists():
        kept = np.load(partial, allow_pickle=False)
        done = set(kept["chains"].tolist())
        start_atoms = np.concatenate([[0], np.cumsum(kept["natoms"])])
        for k in range(len(kept["natoms"])):
            a, b = start_atoms[k], start_atoms[k + 1]
            frames.append((kept["numbers"][a:b], kept["positions"][a:b], float(kept["energy"][k]),
                           kept["forces"][a:b], kept["cell"][k]))
        print(f"  continuing: {len(done)} chains ({len(frames)} frames) from {partial}")
    tasks = [(*chain, sampling) for chain in sampling.chains() if chain[0] not in done]
    start = time.perf_counter()
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for task, result in zip(tasks, pool.imap(sample_liquid_chain, tasks)):
                frames += result
                done.add(task[0])
                print(f"  liquid chain {task[0]:3d} ({task[1]:.0f} K, {task[2]:.2f} g/cm3, "
                      f"{task[3]} molecules): {len(result)} frames, {len(frames)} in all "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(partial, chains=np.array(sorted(done)),
                         **frames_to_dataset(frames, sampling, [sampling.molecule]))
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = threads
    data = frames_to_dataset(frames, sampling, [sampling.molecule])
    np.savez_compressed(path, **data)
    partial.unlink(missing_ok=True)
    print(f"liquid dataset: {len(frames)} frames, {data['natoms'].sum()} atoms, labelled in "
          f"{time.perf_counter() - start:.0f} s -> {path}")
    return data


def merge_datasets(parts: list) -> dict:
    """One dataset of several (frames concatenated; datasets without cells are molecules)."""
    def cells(d):
        return d["cell"] if "cell" in d else np.zeros((len(d["natoms"]), 3, 3))
    return {"natoms": np.concatenate([d["natoms"] for d in parts]),
            "numbers": np.concatenate([d["numbers"] for d in parts]),
            "positions": np.concatenate([d["positions"] for d in parts]),
            "energy": np.concatenate([d["energy"] for d in parts]),
            "forces": np.concatenate([d["forces"] for d in parts]),
            "cell": np.concatenate([cells(d) for d in parts])}


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
        for start, n, cell in zip(self.node_start, self.natoms, cells):
            pos = data["positions"][start:start + n]
            if cell.any():
                # Periodic: edges to every image within the cutoff, with the image's lattice shift.
                # An edge's vector is pos[src] + shift - pos[dst], as in LAMMPS's ghost atoms.
                center, neighbor, image = primitive_neighbor_list("ijS", [True] * 3, cell, pos,
                                                                  cutoff)
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
        to = lambda a, dtype=torch.int64: torch.as_tensor(a, dtype=dtype).to(self.device, non_blocking=True)  # noqa: E731
        nodes = to(nodes)
        return {"z": self.z[nodes], "pos": self.positions[nodes], "forces": self.forces[nodes],
                "src": to(self.src[edges] + offset), "dst": to(self.dst[edges] + offset),
                "shift": self.shift[to(edges)],
                "graph": to(graph), "natoms": to(natoms), "energy": to(self.energy[configs], torch.float64)}


def predict(model: StudentForceField, b: dict, create_graph: bool):
    pos = b["pos"].detach().requires_grad_(True)
    node = model.node_energies(b["z"], b["src"], b["dst"], pos[b["src"]] + b["shift"] - pos[b["dst"]])
    energy = torch.zeros(len(b["natoms"]), dtype=node.dtype, device=node.device)
    energy = energy.index_add(0, b["graph"], node)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=create_graph)
    return energy, -grad


def fit_reference_energies(data: dict, configs: np.ndarray, max_z: int) -> np.ndarray:
    """Per-element energies (eV) that best explain the teacher energies by composition alone."""
    start = np.concatenate([[0], np.cumsum(data["natoms"])[:-1]])
    present = sorted(set(data["numbers"].tolist()))
    counts = np.zeros((len(configs), len(present)))
    for row, c in enumerate(configs):
        z = data["numbers"][start[c]:start[c] + data["natoms"][c]]
        counts[row] = [(z == e).sum() for e in present]
    solution, *_ = np.linalg.lstsq(counts, data["energy"][configs], rcond=None)
    reference = np.zeros(max_z + 1)
    reference[present] = solution
    return reference


@dataclass
class Training:
    epochs: int = 300
    batch_size: int = 32
    lr: float = 2e-3
    lr_final: float = 2e-5
    energy_weight: float = 1.0  # on (eV/atom)^2
    force_weight: float = 10.0  # on (eV/Å)^2 per component
    validation_fraction: float = 0.1
    minutes: float | None = None  # if set, train this long instead of `epochs`
    seed: int = 0
    history: list = field(default_factory=list)


def evaluate(model, graphs: GraphSet, configs: np.ndarray, batch_size: int = 256) -> dict:
    e_err, f_err = [], []
    for k in range(0, len(configs), batch_size):
        b = graphs.batch(configs[k:k + batch_size])
        energy, forces = predict(model, b, create_graph=False)
        e_err.append(((energy.double() - b["energy"]) / b["natoms"]).detach())
        f_err.append((forces - b["forces"]).detach().flatten())
    e, f = torch.cat(e_err), torch.cat(f_err)
    return {"energy_mae_meV_per_atom": 1e3 * e.abs().mean().item(),
            "energy_rmse_meV_per_atom": 1e3 * e.pow(2).mean().sqrt().item(),
            "force_mae_eV_per_A": f.abs().mean().item(),
            "force_rmse_eV_per_A": f.pow(2).mean().sqrt().item()}


def train(data: dict, config: StudentConfig, training: Training, device: torch.device,
          log=print) -> tuple[StudentForceField, dict]:
    torch.manual_seed(training.seed)
    rng = np.random.default_rng(training.seed)
    order = rng.permutation(len(data["natoms"]))
    if len(order) < 2:
        raise ValueError("training needs at least two frames (one for validation)")
    n_val = max(1, int(round(training.validation_fraction * len(order))))
    val_idx, train_idx = np.sort(order[:n_val]), order[n_val:]

    model = StudentForceField(config)
    model.atom_reference.copy_(torch.as_tensor(fit_reference_energies(data, train_idx, config.max_z)))
    model.to(device)
    graphs = GraphSet(data, config.cutoff, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.lr)
    steps_per_epoch = math.ceil(len(train_idx) / training.batch_size)
    epochs = training.epochs if training.minutes is None else 10**9
    best, best_state = math.inf, None
    start = time.perf_counter()

    def progress(epoch: int, step: int) -> float:
        """Fraction of the training done: by epochs, or by wall time with --minutes."""
        if training.minutes is not None:
            return (time.perf_counter() - start) / (60.0 * training.minutes)
        return ((epoch - 1) * steps_per_epoch + step) / (training.epochs * steps_per_epoch)

    log(f"training on {device}: {len(train_idx)} frames, validation {len(val_idx)}, "
        f"{sum(p.numel() for p in model.parameters())} parameters")
    epoch = 0
    while epoch < epochs and (epoch == 0 or progress(epoch + 1, 0) < 1.0):  # at least one
        epoch += 1
        model.train()
        perm = rng.permutation(train_idx)
        total = torch.zeros((), device=device)
        for step, k in enumerate(range(0, len(perm), training.batch_size)):
            # Cosine decay of the learning rate over the whole training.
            done = min(1.0, progress(epoch, step))
            for group in optimizer.param_groups:
                group["lr"] = training.lr_final + 0.5 * (training.lr - training.lr_final) * (
                    1.0 + math.cos(math.pi * done))
            b = graphs.batch(perm[k:k + training.batch_size])
            energy, forces = predict(model, b, create_graph=True)
            e_loss = (((energy.double() - b["energy"]) / b["natoms"]) ** 2).mean().float()
            f_loss = ((forces - b["forces"]) ** 2).mean()
            loss = training.energy_weight * e_loss + training.force_weight * f_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        model.eval()
        val = evaluate(model, graphs, val_idx)
        score = (training.energy_weight * (val["energy_rmse_meV_per_atom"] / 1e3) ** 2
                 + training.force_weight * val["force_rmse_eV_per_A"] ** 2)
        if score < best:
            best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
        record = {"epoch": epoch, "seconds": round(time.perf_counter() - start, 1),
                  "train_loss": total.item() / steps_per_epoch, **val}
        training.history.append(record)
        if epoch == 1 or epoch % 10 == 0:
            log(f"epoch {epoch:4d}  {record['seconds']:7.1f} s  loss {record['train_loss']:.3e}  "
                f"val E MAE {val['energy_mae_meV_per_atom']:.2f} meV/atom  "
                f"F RMSE {val['force_rmse_eV_per_A']:.4f} MAE {val['force_mae_eV_per_A']:.4f} eV/Å")
    if best_state is None:
        raise RuntimeError("training diverged: every validation error was NaN")
    model.load_state_dict(best_state)
    model.eval()
    summary = {"train_frames": len(train_idx), "validation_frames": len(val_idx), "epochs": epoch,
               "seconds": round(time.perf_counter() - start, 1),
               "seconds_per_epoch": round((time.perf_counter() - start) / epoch, 3),
               "validation": evaluate(model, graphs, val_idx)}
    return model.cpu(), summary


def save(model: StudentForceField, out: Path, record: dict) -> None:
    """<out>.pt (the plugin's TorchScript file), <out>.ckpt (an MLFF-Distiller-style checkpoint)
    and <out>.json (how it was made and how accurate it is)."""
    from .export import export_torchscript

    out.parent.mkdir(parents=True, exist_ok=True)
    n = sum(p.numel() for p in model.parameters())
    torch.save({"model_state_dict": model.state_dict(), "config": asdict(model.config),
                "num_parameters": n}, out.with_suffix(".ckpt"))
    export_torchscript(model, out.with_suffix(".pt"), "float32")
    out.with_suffix(".json").write_text(json.dumps({"num_parameters": n, **record}, indent=1) + "\n")


def main(args) -> int:
    device = torch.device(args.device)
    sampling = Sampling(temperatures=tuple(float(t) for t in args.temperatures.split(",")),
                        frames=args.frames, displaced=args.displaced, seed=args.seed)
    names = args.molecules.split(",") if args.molecules else None

    def read_or_make(path: Path, make) -> dict:
        if not path.exists():
            return make(path)
        data = dict(np.load(path))
        print(f"dataset: {len(data['natoms'])} frames from {path} (the sampling options apply "
              "only when a dataset is made)")
        return data

    def molecules(sampling: Sampling):
        return lambda path: make_dataset(path, sampling, args.workers, names)

    def liquid(sampling: LiquidSampling):
        return lambda path: make_liquid_dataset(path, sampling, args.workers)

    if not args.dataset and not args.label_only:
        raise ValueError("training needs --dataset (molecules); only --label-only can do without")
    data = read_or_make(Path(args.dataset), molecules(sampling)) if args.dataset else None
    # Held out: independent trajectories (other seed, a temperature in between).
    held_out = Sampling(temperatures=(450.0,), frames=max(1, args.frames // 4),
                        displaced=max(0, args.displaced // 4), seed=args.seed + 1000)
    tests = {}
    if args.test_dataset:
        tests["test"] = read_or_make(Path(args.test_dataset), molecules(held_out))
    parts, liquid_sampling = [data], None
    if args.liquid_dataset:
        liquid_sampling = LiquidSampling(frames=args.liquid_frames, seed=args.seed)
        parts.append(read_or_make(Path(args.liquid_dataset), liquid(liquid_sampling)))
    if args.liquid_test_dataset:
        # Held out: independent chains (other seeds) at the density and two temperatures.
        held_out_liquid = LiquidSampling(temperatures=(300.0, 400.0), densities=(0.87,),
                                         cell_molecules=(8,), frames=max(20, args.liquid_frames // 15),
                                         seed=args.seed + 1000)
        tests["liquid_test"] = read_or_make(Path(args.liquid_test_dataset), liquid(held_out_liquid))
    if args.label_only:
        return 0

    from ase.data import chemical_symbols

    trained = sorted(set(np.concatenate([part["numbers"] for part in parts]).tolist()))
    config = StudentConfig(hidden_dim=args.hidden_dim, num_interactions=args.interactions,
                           num_rbf=args.num_rbf, cutoff=args.cutoff, mixing=args.mixing,
                           smooth_cutoff=args.smooth_cutoff,
                           elements=tuple(chemical_symbols[z] for z in trained))
    training = Training(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        minutes=args.minutes, seed=args.seed)
    model, summary = train(merge_datasets(parts) if len(parts) > 1 else data, config, training,
                           device)
    model.to(device)
    for name, test in tests.items():
        graphs = GraphSet(test, config.cutoff, device)
        summary[name] = evaluate(model, graphs, np.arange(len(test["natoms"])))
        summary[f"{name}_frames"] = len(test["natoms"])
    model.cpu()
    print(json.dumps({k: v for k, v in summary.items() if isinstance(v, dict)}, indent=1))
    record = {"teacher": "GFN2-xTB (tblite)", "config": asdict(config),
              "sampling": json.loads(str(data["sampling"])), "molecules": data["names"].tolist(),
              "frames": int(len(data["natoms"])), "device": str(device),
              "training": {k: v for k, v in asdict(training).items() if k != "history"},
              **summary, "history": training.history}
    if liquid_sampling is not None:
        record["liquid_sampling"] = json.loads(str(parts[1]["sampling"]))
        record["liquid_frames"] = int(len(parts[1]["natoms"]))
    save(model, Path(args.out), record)
    print(f"wrote {Path(args.out).with_suffix('.pt')} (plugin), .ckpt and .json")
    return 0


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, help="output stem: writes OUT.pt, OUT.ckpt, OUT.json")
    p.add_argument("--dataset", help="labelled molecule frames (.npz): read if it exists, else "
                   "made; needed for training")
    p.add_argument("--test-dataset", help="held-out frames from independent trajectories (.npz), same")
    p.add_argument("--liquid-dataset", help="labelled periodic liquid frames (.npz), trained on "
                   "together with --dataset: read if it exists, else sampled (liquid.py) and made")
    p.add_argument("--liquid-test-dataset", help="held-out liquid frames from independent chains, same")
    p.add_argument("--liquid-frames", type=int, default=LiquidSampling.frames,
                   help="liquid frames to make (4- and 8-molecule benzene cells, 250-450 K)")
    p.add_argument("--label-only", action="store_true",
                   help="make the missing datasets, then stop (label here, train elsewhere)")
    p.add_argument("--molecules", help="comma-separated G2 names (default: all that qualify)")
    p.add_argument("--temperatures", default="300,600", help="teacher MD temperatures (K)")
    p.add_argument("--frames", type=int, default=Sampling.frames, help="per molecule and temperature")
    p.add_argument("--displaced", type=int, default=Sampling.displaced, help="per molecule")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=Training.epochs)
    p.add_argument("--minutes", type=float, help="train for this wall time instead of --epochs")
    p.add_argument("--batch-size", type=int, default=Training.batch_size)
    p.add_argument("--lr", type=float, default=Training.lr)
    p.add_argument("--hidden-dim", type=int, default=64)
    p.add_argument("--interactions", type=int, default=3)
    p.add_argument("--num-rbf", type=int, default=20)
    p.add_argument("--cutoff", type=float, default=5.0)
    p.add_argument("--mixing", choices=["cartesian", "channel"], default="channel",
                   help="channel: rotation invariant (the default model's); cartesian: the original's")
    p.add_argument("--smooth-cutoff", action=argparse.BooleanOptionalAction, default=True,
                   help="messages vanish continuously at the cutoff (--no-smooth-cutoff: the "
                   "original architecture, whose energy jumps there)")
    p.add_argument("--seed", type=int, default=0)
