"""The distill command: sample and label datasets (or read them), train a student, evaluate, save.

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
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from ase.data import chemical_symbols

from ..errors import InputError, readable_file, writable_directory, writable_file
from ..model.loading import load_checkpoint
from ..model.student import StudentConfig
from .datasets import DATASET_KEYS, FRAME_KEYS, GraphSet, merge_datasets, read_dataset
from .liquid_sampling import LiquidSampling, make_liquid_dataset
from .sampling import Sampling, make_dataset, training_molecules
from .training import Training, evaluate, save, train

# The loss's terms: --<term>-weight sets Training.<term>_weight.
LOSS_WEIGHTS = {
    "energy": "the energy's error per atom, (eV/atom)^2",
    "force": "the force components' error, (eV/A)^2",
    "virial": "the virial's error per atom, (eV/atom)^2, on frames with a teacher virial (the "
    "periodic ones); 0 leaves the stress out",
}


def loss_weights(args) -> dict:
    """The weight options of args, as Training's keyword arguments."""
    return {f"{term}_weight": getattr(args, f"{term}_weight") for term in LOSS_WEIGHTS}


def main(args) -> int:
    check_arguments(args)
    device = torch.device(args.device)
    sampling = Sampling(
        temperatures=tuple(float(t) for t in args.temperatures.split(",")),
        frames=args.frames,
        displaced=args.displaced,
        seed=args.seed,
    )
    names = args.molecules.split(",") if args.molecules else None

    def read_or_make(path: Path, make, keys=DATASET_KEYS) -> dict:
        if not path.exists():
            return make(path)
        data = read_dataset(path, keys)
        print(
            f"dataset: {len(data['natoms'])} frames from {path} (the sampling options apply "
            "only when a dataset is made)"
        )
        return data

    def molecules(sampling: Sampling):
        return lambda path: make_dataset(path, sampling, args.workers, names)

    def liquid(sampling: LiquidSampling):
        return lambda path: make_liquid_dataset(path, sampling, args.workers)

    data = read_or_make(Path(args.dataset), molecules(sampling)) if args.dataset else None
    # Held out: independent trajectories (other seed, a temperature in between).
    held_out = Sampling(
        temperatures=(450.0,),
        frames=max(1, args.frames // 4),
        displaced=max(0, args.displaced // 4),
        seed=args.seed + 1000,
    )
    tests = {}
    if args.test_dataset:
        tests["test"] = read_or_make(Path(args.test_dataset), molecules(held_out), FRAME_KEYS)
    parts, liquid_sampling = [data], None
    if args.liquid_dataset:
        liquid_sampling = LiquidSampling(
            densities=densities(args.liquid_densities), frames=args.liquid_frames, seed=args.seed
        )
        parts.append(read_or_make(Path(args.liquid_dataset), liquid(liquid_sampling)))
    if args.liquid_test_dataset:
        # Held out: independent chains (other seeds) at the density and two temperatures.
        held_out_liquid = LiquidSampling(
            temperatures=(300.0, 400.0),
            densities=(0.87,),
            cell_molecules=(8,),
            frames=max(20, args.liquid_frames // 15),
            seed=args.seed + 1000,
        )
        tests["liquid_test"] = read_or_make(
            Path(args.liquid_test_dataset), liquid(held_out_liquid), FRAME_KEYS
        )
    if args.label_only:
        return 0

    trained = sorted(set(np.concatenate([part["numbers"] for part in parts]).tolist()))
    start_from = None
    if args.start_from:
        start_from = load_checkpoint(args.start_from)
        config = start_from.config
        missing = [
            chemical_symbols[z] for z in trained if chemical_symbols[z] not in config.elements
        ]
        if missing:
            raise InputError(
                args.start_from,
                f"has no weights for {', '.join(missing)} of the datasets: train a new student "
                "(leave out --start-from) or drop those frames",
            )
    else:
        try:
            config = StudentConfig(
                hidden_dim=args.hidden_dim,
                num_interactions=args.interactions,
                num_rbf=args.num_rbf,
                cutoff=args.cutoff,
                mixing=args.mixing,
                smooth_cutoff=args.smooth_cutoff,
                elements=tuple(chemical_symbols[z] for z in trained),
            )
        except ValueError as err:  # the datasets' elements: the options were checked
            raise InputError(None, f"the datasets' frames: {err}") from None
    training = Training(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        minutes=args.minutes,
        seed=args.seed,
        **loss_weights(args),
    )
    model, summary = train(
        merge_datasets(parts) if len(parts) > 1 else data,
        config,
        training,
        device,
        start_from=start_from,
    )
    model.to(device)
    for name, test in tests.items():
        graphs = GraphSet(test, config.cutoff, device)
        summary[name] = evaluate(model, graphs, np.arange(len(test["natoms"])))
        summary[f"{name}_frames"] = len(test["natoms"])
    model.cpu()
    print(json.dumps({k: v for k, v in summary.items() if isinstance(v, dict)}, indent=1))
    record = {
        "teacher": "GFN2-xTB (tblite)",
        "config": asdict(config),
        "sampling": json.loads(str(data["sampling"])),
        "molecules": data["names"].tolist(),
        "frames": int(len(data["natoms"])),
        "device": str(device),
        "start_from": Path(args.start_from).name if args.start_from else None,
        "training": {k: v for k, v in asdict(training).items() if k != "history"},
        **summary,
        "history": training.history,
    }
    if liquid_sampling is not None:
        record["liquid_sampling"] = json.loads(str(parts[1]["sampling"]))
        record["liquid_frames"] = int(len(parts[1]["natoms"]))
    save(model, Path(args.out), record)
    print(f"wrote {Path(args.out).with_suffix('.pt')} (plugin), .ckpt and .json")
    return 0


def densities(text: str) -> tuple:
    """--liquid-densities: g/cm^3, comma-separated."""
    try:
        values = tuple(float(d) for d in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(d) and d > 0 for d in values):
        raise InputError(
            None, f"--liquid-densities {text}: give g/cm^3, comma-separated (0.84,0.87,0.90)"
        )
    return values


def check_arguments(args) -> None:
    """Refuses bad options before any dataset is made or read: labelling and training take
    hours, and their results would be lost to an option that fails at the end."""
    if not args.dataset and not args.label_only:
        raise InputError(
            None, "training needs --dataset (molecules); only --label-only can do without"
        )
    positive = {
        "--frames": args.frames,
        "--workers": args.workers,
        "--epochs": args.epochs,
        "--batch-size": args.batch_size,
        "--interactions": args.interactions,
        "--num-rbf": args.num_rbf,
    }
    for option, value in positive.items():
        if value < 1:
            raise InputError(None, f"{option} {value}: give a whole number of at least 1")
    if args.liquid_dataset and args.liquid_frames < 1:  # read only where one is made
        raise InputError(
            None, f"--liquid-frames {args.liquid_frames}: give a whole number of at least 1"
        )
    if args.displaced < 0:
        raise InputError(None, f"--displaced {args.displaced}: give a number of at least 0")
    if args.hidden_dim < 4:  # the energy head narrows the features to hidden_dim // 4
        raise InputError(None, f"--hidden-dim {args.hidden_dim}: give at least 4")
    densities(args.liquid_densities)
    if args.start_from:
        readable_file(args.start_from, "a student checkpoint (.ckpt)")
    for name, value in loss_weights(args).items():
        if not (math.isfinite(value) and value >= 0):
            option = "--" + name.replace("_", "-")
            raise InputError(None, f"{option} {value}: give a finite number >= 0")
    reals = {"--cutoff": args.cutoff, "--lr": args.lr, "--minutes": args.minutes}
    for option, value in reals.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(None, f"{option} {value}: give a positive, finite number")
    for t in args.temperatures.split(","):
        try:
            kelvin = float(t)
        except ValueError:
            kelvin = math.nan
        if not (math.isfinite(kelvin) and kelvin > 0):
            raise InputError(
                None, f"--temperatures {args.temperatures}: give kelvins, comma-separated (300,600)"
            )
    if args.molecules:
        known = training_molecules()
        unknown = [n for n in args.molecules.split(",") if n not in known]
        if unknown:
            raise InputError(
                None,
                f"--molecules: {', '.join(map(repr, unknown))} not among the G2 molecules that "
                "qualify: give ase.collections.g2 names of closed-shell molecules of 3 or more "
                "atoms of H C N O F S Cl, such as CH3OH,C6H6",
            )
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise InputError(None, f"--device {args.device}: give cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(None, f"--device {args.device}: this machine has no GPU; give cpu")
    datasets = (
        (args.dataset, DATASET_KEYS),
        (args.test_dataset, FRAME_KEYS),
        (args.liquid_dataset, DATASET_KEYS),
        (args.liquid_test_dataset, FRAME_KEYS),
    )
    for dataset, keys in datasets:
        if dataset:
            path = Path(dataset)
            if path.exists():  # read now too: one that fails after another was made wastes hours
                read_dataset(path, keys)
            else:
                writable_directory(path.parent)
    if not args.label_only:
        out = Path(args.out)
        if out.parent.exists():
            for suffix in (".pt", ".ckpt", ".json"):
                writable_file(out.with_suffix(suffix))
        else:  # save makes it
            writable_directory(out.parent)


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, help="output stem: writes OUT.pt, OUT.ckpt, OUT.json")
    p.add_argument(
        "--dataset",
        help="labelled molecule frames (.npz): read if it exists, else made; needed for training",
    )
    p.add_argument(
        "--test-dataset", help="held-out frames from independent trajectories (.npz), same"
    )
    p.add_argument(
        "--liquid-dataset",
        help="labelled periodic liquid frames (.npz), trained on "
        "together with --dataset: read if it exists, else sampled (data/liquid.py) and made",
    )
    p.add_argument(
        "--liquid-test-dataset", help="held-out liquid frames from independent chains, same"
    )
    p.add_argument(
        "--liquid-frames",
        type=int,
        default=LiquidSampling.frames,
        help="liquid frames to make (4- and 8-molecule benzene cells, 250-450 K)",
    )
    p.add_argument(
        "--liquid-densities",
        default=",".join(str(d) for d in LiquidSampling.densities),
        help="densities of the liquid cells to make (g/cm^3, comma-separated)",
    )
    for term, what in LOSS_WEIGHTS.items():
        p.add_argument(
            f"--{term}-weight",
            type=float,
            default=getattr(Training, f"{term}_weight"),
            help=f"weight of {what}",
        )
    p.add_argument(
        "--start-from",
        help="a student checkpoint (.ckpt) to go on training: its architecture and per-element "
        "energies are kept and the architecture options ignored",
    )
    p.add_argument(
        "--label-only",
        action="store_true",
        help="make the missing datasets, then stop (label here, train elsewhere)",
    )
    p.add_argument("--molecules", help="comma-separated G2 names (default: all that qualify)")
    p.add_argument("--temperatures", default="300,600", help="teacher MD temperatures (K)")
    p.add_argument(
        "--frames", type=int, default=Sampling.frames, help="per molecule and temperature"
    )
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
    p.add_argument(
        "--mixing",
        choices=["cartesian", "channel"],
        default="channel",
        help="channel: rotation invariant (the default model's); cartesian: the original's",
    )
    p.add_argument(
        "--smooth-cutoff",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="messages vanish continuously at the cutoff (--no-smooth-cutoff: the "
        "original architecture, whose energy jumps there)",
    )
    p.add_argument("--seed", type=int, default=0)
