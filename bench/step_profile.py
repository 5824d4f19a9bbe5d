"""Where a step's time goes: LAMMPS's timer sections and the style's own stages.

    python bench/step_profile.py --lmp LMP --plugin mlffstudentplugin.so --model FILE \
        --system box_100k [--kokkos] [--options "device cuda"] --out profile.json

Two runs of bench.py's timed input on one of its systems: the plain one gives steps/s and
LAMMPS's "MPI task timing breakdown" (Pair, Neigh, Comm, Modify, Other); the second, with
MLFF_STUDENT_PROFILE=1, the style's stages, the device synchronized between them.
bench/model_profile.py splits the model's stage into GPU kernels. (Nsight Compute over these
LAMMPS runs did not finish within 200 s on an H200, benzene included.)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench import header, systems, timed_nve
from mlff_student.data.systems import write_lammps_data


def stage_profile(log: str) -> list[str]:
    block = log.rsplit("time per stage on rank 0 (MLFF_STUDENT_PROFILE):", 1)
    return block[1].strip("\n").split("\n\n")[0].splitlines() if len(block) == 2 else []


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin", required=True)
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--system", default="box_100k")
    p.add_argument("--options", default="device cuda", help="pair_style options after the file")
    p.add_argument("--kokkos", action="store_true", help="-k on g 1 -sf kk (mlff/student/kk)")
    p.add_argument("--work", type=Path, default=Path("profile_work"))
    p.add_argument("--out", type=Path, default=Path("profile.json"))
    p.add_argument("--timeout", type=int, default=400)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args()
    args.plugin = str(Path(args.plugin).resolve())
    args.device = "cuda"

    atoms = systems([args.system])[args.system]()
    elements = sorted(set(atoms.get_chemical_symbols()))
    args.work.mkdir(parents=True, exist_ok=True)
    data = (args.work / "system.data").resolve()
    write_lammps_data(atoms, data, elements)
    head = header(
        args, str(data), args.model.resolve(), args.options, elements, bool(atoms.pbc.any())
    )
    flags = (
        ["-k", "on", "g", "1", "-sf", "kk", "-pk", "kokkos", "newton", "off", "neigh", "full"]
        if args.kokkos
        else []
    )
    result = {
        "system": args.system,
        "atoms": len(atoms),
        "model": str(args.model),
        "options": args.options,
        "kokkos": args.kokkos,
    }

    seconds, nsteps, sections = timed_nve(args, args.work, head, len(atoms), flags)
    result["steps_per_s"] = nsteps / seconds
    result["ms_per_step"] = 1e3 * seconds / nsteps
    result["lammps_ms_per_step"] = {k: 1e3 * v / nsteps for k, v in sections.items()}

    os.environ["MLFF_STUDENT_PROFILE"] = "1"
    try:
        timed_nve(args, args.work, head, len(atoms), flags)
    finally:
        del os.environ["MLFF_STUDENT_PROFILE"]
    result["stages"] = stage_profile((args.work / "log.lammps").read_text())

    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"{args.system} ({len(atoms)} atoms) {'kk ' if args.kokkos else ''}{args.model.name}: "
        f"{result['steps_per_s']:.1f} steps/s, {result['ms_per_step']:.3f} ms/step"
    )
    print(
        "LAMMPS sections, ms/step: "
        + ", ".join(f"{k} {v:.3f}" for k, v in result["lammps_ms_per_step"].items())
    )
    print("\n".join(result["stages"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
