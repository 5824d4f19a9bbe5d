"""Runs the NVE validation of examples/nve_100ps for several systems and reports each run.

    python run.py --lmp LMP --plugin mlffstudentplugin.so --model potentials/student_gfn2.pt \
        [--pair "device cuda precision fp16"] [--steps 200000] [--systems benzene,...] [--jobs 4] \
        [--timeout 1:00:00] [--resume]

Writes <work>/<system>/{log.lammps,report.json,energies.png} and <work>/summary.json. Data files
are made from the project's molecules (mlff_student.data.systems.molecules). A run that reaches
--timeout stops cleanly and leaves nve.restart; --resume continues it and extends its log, so that
the report covers the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from mlff_student.analysis.nve import report, summary_line  # noqa: E402
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data  # noqa: E402

INPUT = Path(__file__).resolve().parent / "in.nve"


def systems() -> dict:
    """name -> (atoms, boundary, zero angular momentum, neighbor settings). Molecules sit in open,
    shrink-wrapped boxes and use all-pairs neighbor lists, which stay cheap when a hot molecule
    throws off a fragment and the box grows; the liquid box (27 benzene molecules, 0.87 g/cm^3) is
    periodic, where angular momentum is not conserved and is left alone."""
    mols = molecules()
    molecule = ("m m m", "yes", "1.0 nsq")
    return {
        "benzene": (mols["benzene"], *molecule),
        "caffeine": (mols["caffeine"], *molecule),
        "loratadine": (mols["loratadine"], *molecule),
        "benzene_box": (molecular_box(mols["benzene"], 3, 0.87, seed=7), "p p p", "no", "1.0 bin"),
    }


def watch_progress(
    proc: subprocess.Popen, name: str, log: Path, steps: int, every_s: float = 60.0
) -> str:
    """Waits for LAMMPS, saying once a minute how far its thermo output has come; returns what it
    printed."""
    start = time.time()
    while True:
        try:
            output, _ = proc.communicate(timeout=every_s)
            return output
        except subprocess.TimeoutExpired:
            rows = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
            done = max((int(r[0]) for r in rows if r and r[0].isdigit()), default=0)
            elapsed = time.time() - start
            print(
                f"  {name}: step {done:,} of {steps:,} ({100 * done / max(steps, 1):.0f} %), "
                f"{elapsed / 60:.0f} min",
                flush=True,
            )


def run_one(args, name: str, atoms, boundary: str, rot: str, neigh: str) -> dict:
    work = args.work / name
    work.mkdir(parents=True, exist_ok=True)
    elements = sorted(set(atoms.get_chemical_symbols()))
    resume = args.resume and (work / "nve.restart").exists()
    if not resume:
        write_lammps_data(atoms, work / "system.data", elements)
    log = "log.part.lammps" if resume else "log.lammps"
    cmd = [
        args.lmp,
        "-in",
        str(INPUT),
        "-log",
        log,
        "-screen",
        "none",
        "-var",
        "data",
        "system.data",
        "-var",
        "elements",
        " ".join(elements),
        "-var",
        "model",
        str(args.model.resolve()),
        "-var",
        "pair",
        args.pair,
        "-var",
        "boundary",
        boundary,
        "-var",
        "rot",
        rot,
        "-var",
        "neigh",
        neigh,
        "-var",
        "steps",
        str(args.steps),
        "-var",
        "every",
        str(args.every),
        "-var",
        "seed",
        str(args.seed),
        "-var",
        "timeout",
        args.timeout,
        "-var",
        "resume",
        "yes" if resume else "no",
        "-var",
        "temp",
        str(args.temperature),
        "-var",
        "minimize",
        "yes" if args.minimize else "no",
        "-var",
        "equilibrate",
        str(args.equilibrate if boundary == "p p p" else 0),
    ]
    env = {
        **os.environ,
        "LAMMPS_PLUGIN_PATH": str(Path(args.plugin).resolve().parent),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    proc = subprocess.Popen(
        cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    output = watch_progress(proc, name, work / log, args.steps)
    text = (work / log).read_text() if (work / log).exists() else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: LAMMPS failed\n{(output + text)[-2000:]}")
    if resume:  # the report reads one log; rows repeated at the restart step are dropped there
        with open(work / "log.lammps", "a") as whole:
            whole.write(text)
        (work / log).unlink()
    result = report(
        work / "log.lammps", work / "report.json", work / "energies.png", f"{name}, {args.label}"
    )
    print(summary_line(name, result), flush=True)
    return result


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin", required=True, help="mlffstudentplugin.so")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--pair", default="cuda_graph auto", help="pair_style mlff/student options")
    p.add_argument("--label", default="", help="names the run in plots, e.g. 'GPU fp16'")
    p.add_argument("--systems", default="benzene,caffeine,loratadine,benzene_box")
    p.add_argument("--steps", type=int, default=200000)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument("--jobs", type=int, default=1, help="runs at the same time")
    p.add_argument("--work", type=Path, default=Path("nve_runs"))
    p.add_argument(
        "--temperature", type=float, default=300.0, help="of the starting velocities (K)"
    )
    p.add_argument("--minimize", action="store_true", help="start from the model's minimum")
    p.add_argument(
        "--equilibrate",
        type=int,
        default=0,
        help="steps at --temperature (Langevin) before the NVE run, periodic systems only",
    )
    p.add_argument("--timeout", default="off", help="wall-time limit of each run, [[HH:]MM:]SS")
    p.add_argument("--resume", action="store_true", help="continue runs stopped by --timeout")
    args = p.parse_args()
    args.label = args.label or f"{args.model.name} {args.pair}"

    table = systems()
    chosen = args.systems.split(",")
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {n: pool.submit(run_one, args, n, *table[n]) for n in chosen}
        results = {n: f.result() for n, f in futures.items()}
    summary = {
        "model": str(args.model),
        "pair": args.pair,
        "label": args.label,
        "steps": args.steps,
        "seed": args.seed,
        "runs": results,
    }
    (args.work / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
