"""Liquid benzene's equation of state in LAMMPS: the model's density under NPT, and the teacher's
pressure at fixed densities.

    python run.py npt --lmp LMP --plugin-dir DIR --model student_gfn2_liquid.pt \
        [--pair "device cuda"] [--per-side 5] [--steps 40000] [--work npt]
    python run.py pressure --lmp LMP --plugin-dir DIR --model student_gfn2_liquid.pt \
        [--densities 0.75,0.87] [--steps 10000] [--every 500] [--workers 2] [--work pressure]

npt: per-side**3 molecules packed at 0.87 g/cm^3 (data.systems.molecular_box), NVT, then NPT at
300 K and 1 bar (in.npt); reports the density's mean over the second half of the NPT run, with the
spread of the means of its ten blocks. pressure: 8 molecules (96 atoms) at each density, NVT
(in.nvt), snapshots every --every steps labelled by the teacher (GFN2-xTB, periodic). The
teacher's pressure there is estimated as the model's mean pressure over the run plus the mean of
(teacher - model) virial pressure over the snapshots: that difference varies far less from one
snapshot to the next than either pressure does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "python"))
from mlff_student.data.systems import molecular_box, write_lammps_data  # noqa: E402

EV_PER_A3_BAR = 1.602176634e6


def thermo_blocks(log: Path) -> list[dict]:
    """Every thermo table of a LAMMPS log, as columns of floats."""
    blocks, header, rows = [], None, []
    for line in log.read_text().splitlines():
        words = line.split()
        if words and words[0] == "Step":
            header, rows = words, []
        elif header and line.startswith("Loop time"):
            blocks.append({k: np.array([r[i] for r in rows]) for i, k in enumerate(header)})
            header = None
        elif header:
            try:
                rows.append([float(w) for w in words])
            except ValueError:
                pass
    return blocks


def run_lammps(args, script: str, work: Path, variables: dict) -> list[dict]:
    work.mkdir(parents=True, exist_ok=True)
    command = [args.lmp, "-in", str(HERE / script), "-log", "log.lammps"]
    for name, value in {
        "model": str(Path(args.model).resolve()),
        "pair": args.pair,
        **variables,
    }.items():
        command += ["-var", name, str(value)]
    env = {**os.environ, "LAMMPS_PLUGIN_PATH": str(Path(args.plugin_dir).resolve())}
    subprocess.run(command, cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    return thermo_blocks(work / "log.lammps")


def make_data(path: Path, per_side: int, density: float) -> None:
    from ase.build import molecule

    path.parent.mkdir(parents=True, exist_ok=True)
    write_lammps_data(molecular_box(molecule("C6H6"), per_side, density), path, ["H", "C"])


def npt(args) -> dict:
    work = Path(args.work)
    make_data(work / "benzene_liquid.data", args.per_side, 0.87)
    blocks = run_lammps(
        args, "in.npt", work, {"steps": args.steps, "equilibrate": args.equilibrate}
    )
    t = blocks[-1]
    half = t["Density"][len(t["Density"]) // 2 :]
    means = [b.mean() for b in np.array_split(half, 10)]
    return {
        "atoms": 12 * args.per_side**3,
        "npt_ps": float(t["Time"][-1]),
        "density_start": float(t["Density"][0]),
        "density_end": float(t["Density"][-1]),
        "density_second_half": float(half.mean()),
        "density_block_spread": float(np.std(means)),
        "pressure_second_half_bar": float(t["Press"][len(t["Press"]) // 2 :].mean()),
        "density_every_ps": [float(d) for d in t["Density"][:: max(1, len(t["Density"]) // 40)]],
    }


def read_snapshots(dump: Path) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(step, types, positions, cell) of every snapshot of an orthogonal-box custom dump."""
    lines, out, k = dump.read_text().splitlines(), [], 0
    while k < len(lines):
        step = int(lines[k + 1])
        count = int(lines[k + 3])
        bounds = np.array([[float(w) for w in lines[k + 5 + d].split()[:2]] for d in range(3)])
        table = np.array(
            [[float(w) for w in line.split()] for line in lines[k + 9 : k + 9 + count]]
        )
        table = table[np.argsort(table[:, 0])]
        out.append(
            (step, table[:, 1].astype(int), table[:, 2:5], np.diag(bounds[:, 1] - bounds[:, 0]))
        )
        k += 9 + count
    return out


def teacher_virial_pressure(task) -> float:
    """The teacher's virial pressure (bar, no kinetic part) of one periodic snapshot."""
    from mlff_student.data.teacher import Teacher

    numbers, positions, cell = task
    _, _, virial = Teacher(numbers, positions, cell).label(positions)
    return float(np.trace(virial) / (3 * abs(np.linalg.det(cell))) * EV_PER_A3_BAR)


def pressure(args) -> dict:
    from mlff_student.train.sampling import one_thread_per_teacher

    results = {}
    for density in (float(d) for d in args.densities.split(",")):
        work = Path(args.work) / f"{density:.3f}"
        make_data(work / "benzene_liquid.data", 2, density)
        (work / "snapshots.dump").unlink(missing_ok=True)
        t = run_lammps(
            args,
            "in.nvt",
            work,
            {"steps": args.steps, "every": args.every, "equilibrate": args.equilibrate},
        )[-1]
        snaps = read_snapshots(work / "snapshots.dump")
        numbers = np.where(snaps[0][1] == 1, 1, 6)
        with (
            one_thread_per_teacher(),
            multiprocessing.get_context("spawn").Pool(args.workers) as pool,
        ):
            teacher = np.array(
                pool.map(teacher_virial_pressure, [(numbers, p, c) for _, _, p, c in snaps])
            )
        model = np.array([t["c_wpress"][t["Step"] == s][0] for s, *_ in snaps])
        diff = teacher - model
        results[f"{density:.3f}"] = {
            "snapshots": len(snaps),
            "model_pressure_bar": float(t["Press"].mean()),
            "model_pressure_block_spread_bar": float(
                np.std([b.mean() for b in np.array_split(t["Press"], 5)])
            ),
            "teacher_minus_model_bar": float(diff.mean()),
            "teacher_minus_model_stderr_bar": float(diff.std(ddof=1) / np.sqrt(len(diff))),
            "teacher_pressure_bar": float(t["Press"].mean() + diff.mean()),
        }
        print(density, json.dumps(results[f"{density:.3f}"]), flush=True)
    return results


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("mode", choices=["npt", "pressure"])
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin-dir", required=True, help="the folder of mlffstudentplugin.so")
    p.add_argument("--model", default=str(ROOT / "potentials" / "student_gfn2_liquid.pt"))
    p.add_argument("--pair", default="", help="pair_style options, such as 'device cuda'")
    p.add_argument("--per-side", type=int, default=5, help="npt: molecules per box side")
    p.add_argument("--densities", default="0.75,0.87", help="pressure: g/cm^3, comma-separated")
    p.add_argument("--steps", type=int, default=40000)
    p.add_argument("--equilibrate", type=int, default=2000)
    p.add_argument("--every", type=int, default=500, help="pressure: steps between snapshots")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--work", default=None)
    args = p.parse_args()
    args.work = args.work or args.mode
    summary = npt(args) if args.mode == "npt" else pressure(args)
    Path(args.work, "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
