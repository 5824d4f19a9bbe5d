"""Strong and weak scaling of the liquid-benzene box over MPI ranks (one rank per GPU).

    python bench/scaling.py --lmp LMP --plugin mlffstudentplugin.so --model M.pt2 \
        --ranks 1,2,4 --gpus-per-node 4 [--kokkos] [--ghosts exchange:nccl,exchange:lammps,deep] \
        [--profile] \
        --out scaling.json

Strong: one box (--strong-atoms) on every rank count. Weak: about --weak-atoms atoms per rank.
Each point is a whole LAMMPS NVE run (warm-up run, then a timed run). Efficiency is steps/s
(strong) or atom-steps/s (weak) per rank relative to one rank. Ranks beyond --gpus-per-node share
GPUs, which measures the decomposition's overhead, not the scaling of GPUs.

Several ranks run once per --ghosts variant (pair_style keyword ghosts: features exchanged layer
by layer, or the deep ghost shell; exchange:X adds exchange_comm X, how the rows travel); one rank
folds its ghosts either way and is the baseline of all. --profile adds a short run of each point
with MLFF_STUDENT_PROFILE=1, whose milliseconds per step on rank 0 split the step into the graph
build, the model's compute, waiting for the other ranks at the exchanges and the exchanges'
communication, and the scatter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from bench import header, run_lammps, timed_nve
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data


def box_with(atoms: int, seed: int):
    """A liquid-benzene box (0.87 g/cm^3) of n^3 molecules, about `atoms` atoms."""
    n = max(2, round((atoms / 12) ** (1 / 3)))
    return molecular_box(molecules()["benzene"], n, 0.87, seed=seed)


def kokkos_flags(
    nprocs: int, gpus_per_node: int, threads: int, on_cpu: bool, package: str = ""
) -> list[str]:
    """LAMMPS's flags for -sf kk. GPUs: one per rank up to the node's; a single rank asks for one
    GPU, since Kokkos can tell a rank's GPU apart only under mpirun (with g 2 and no mpirun it
    stops: "Could not determine local MPI rank"). package: more package kokkos keywords."""
    where = ["t", str(threads)] if on_cpu else ["g", str(min(nprocs, gpus_per_node))]
    return [
        "-k",
        "on",
        *where,
        "-sf",
        "kk",
        "-pk",
        "kokkos",
        "newton",
        "on",
        "neigh",
        "half",
        *package.split(),
    ]


PROFILE_LINE = re.compile(r"^\s+(\S.*?)\s+[0-9.]+ s\s+([0-9.]+) ms/step")


def profiled_split(args, workdir: Path, head: str, flags: list[str], nprocs: int) -> dict:
    """Milliseconds per step of each stage on rank 0, from a short run with the profile on; the
    model's compute is its stage less the exchanges within it."""
    script = (
        head + "velocity all create 300.0 4928459 mom yes rot yes dist gaussian\n"
        "fix nve all nve\nrun 2\nrun 5\n"
    )
    os.environ["MLFF_STUDENT_PROFILE"] = "1"
    try:
        log = run_lammps(args, workdir, script, args.timeout, flags, nprocs)
    finally:
        del os.environ["MLFF_STUDENT_PROFILE"]
    report = log.split("time per stage on rank 0")[-1]
    split = {
        m.group(1): float(m.group(2)) for m in map(PROFILE_LINE.match, report.splitlines()) if m
    }
    exchanges = sum(v for k, v in split.items() if k.startswith("exchange"))
    model = next((v for k, v in split.items() if k.startswith("model")), None)
    if model is not None:
        split["model compute (model less exchanges)"] = model - exchanges
    return split


def run(args, workdir: Path, atoms, nprocs: int, ghosts: str) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    write_lammps_data(atoms, workdir / "system.data", ["C", "H"])
    ghosts_keywords = " exchange_comm ".join(ghosts.split(":"))
    options = args.options + (f" ghosts {ghosts_keywords}" if nprocs > 1 else "")
    head = header(args, "system.data", args.model, options, ["C", "H"], True)
    flags = []
    if args.kokkos:
        flags = kokkos_flags(
            nprocs, args.gpus_per_node, args.threads, "cpu" in args.options, args.package
        )
    point = {"atoms": len(atoms), "ranks": nprocs, "ghosts": ghosts if nprocs > 1 else "folded"}
    try:
        seconds, nsteps, _ = timed_nve(
            args,
            workdir,
            head,
            len(atoms) // nprocs,
            flags,
            nprocs,
            "cpu" if "cpu" in args.options else "cuda",
        )
        point.update(steps_per_s=nsteps / seconds, atom_steps_per_s=len(atoms) * nsteps / seconds)
        if args.profile:
            point["ms_per_step_rank0"] = profiled_split(args, workdir, head, flags, nprocs)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:  # out of memory is a result too
        said = [line for line in str(exc).splitlines() if any(c.isalnum() for c in line)]
        point["error"] = " | ".join(said[-3:])[:400]
    return point


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin", required=True)
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--options", default="device cuda", help="pair_style mlff/student keywords")
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--gpus-per-node", type=int, default=1)
    p.add_argument("--kokkos", action="store_true", help="mlff/student/kk through -sf kk")
    p.add_argument("--mode", choices=["strong", "weak", "both"], default="both")
    p.add_argument("--strong-atoms", type=int, default=96000)
    p.add_argument("--weak-atoms", type=int, default=24000, help="atoms per rank")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument(
        "--ghosts",
        default="exchange",
        help="comma-separated pair_style ghosts variants for several ranks",
    )
    p.add_argument("--profile", action="store_true", help="also split each step's time")
    p.add_argument(
        "--package", default="", help="more package kokkos keywords, e.g. 'gpu/aware on'"
    )
    p.add_argument("--work", type=Path, default=Path("scaling_work"))
    p.add_argument("--out", type=Path, default=Path("scaling.json"))
    args = p.parse_args()
    args.plugin = str(Path(args.plugin).resolve())
    args.model = args.model.resolve()
    ranks = [int(r) for r in args.ranks.split(",")]
    results = {
        "machine": platform.node(),
        "command": " ".join(sys.argv),
        "gpus_per_node": args.gpus_per_node,
        "kokkos": args.kokkos,
        "strong": [],
        "weak": [],
    }
    for mode in ["strong", "weak"] if args.mode == "both" else [args.mode]:
        for n in ranks:
            # Strong scaling runs one box on every rank count; weak scaling a box per count.
            atoms = (
                box_with(args.strong_atoms, seed=1)
                if mode == "strong"
                else box_with(args.weak_atoms * n, seed=n)
            )
            for ghosts in args.ghosts.split(",") if n > 1 else ["folded"]:
                point = run(
                    args, args.work / f"{mode}_{n}_{ghosts.replace(':', '-')}", atoms, n, ghosts
                )
                base = results[mode][0] if results[mode] else point
                if "error" not in point and "error" not in base:
                    key = "steps_per_s" if mode == "strong" else "atom_steps_per_s"
                    point["efficiency"] = point[key] / (n / base["ranks"] * base[key])
                results[mode].append(point)
                print(
                    f"{mode:6s} ranks {n:3d} {point['ghosts']:15s} atoms {point['atoms']:9d} "
                    + (
                        f"{point['steps_per_s']:8.2f} steps/s  efficiency "
                        f"{point.get('efficiency', 1.0):.2f}"
                        if "error" not in point
                        else point["error"]
                    ),
                    flush=True,
                )
                if "ms_per_step_rank0" in point:
                    print(
                        "       "
                        + ", ".join(f"{k} {v:.2f}" for k, v in point["ms_per_step_rank0"].items()),
                        flush=True,
                    )
                args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
