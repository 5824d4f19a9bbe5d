"""Where a step's time goes: LAMMPS's timer sections, the style's stages and every GPU kernel.

    python bench/step_profile.py --lmp LMP --plugin mlffstudentplugin.so --model FILE \
        --system box_100k [--kokkos] [--options "device cuda"] --out profile.json

Three runs of the same input (bench.py's systems and header):
  1. the plain timed run: steps/s and LAMMPS's "MPI task timing breakdown" (Pair, Neigh, Comm,
     Modify, Other);
  2. the same with MLFF_STUDENT_PROFILE=1: the style's own stages, the device synchronized
     between them;
  3. with --ncu, two runs under Nsight Compute (one metric: each kernel's duration) that differ
     only in the number of timed steps; the difference per kernel, divided by the difference in
     steps, is the kernels' time per step without start-up and warm-up. Kernels inside CUDA
     graphs are timed one by one. ncu serializes kernels, so the sum is GPU busy time, not wall
     time: the gap between the two is time the GPU waits for the host. On the H200 these runs
     did not finish within 200 s, benzene included; bench/model_profile.py times the model's
     kernels instead.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from bench import header, run_lammps, systems, timed_nve, timer_breakdown
from mlff_student.systems import write_lammps_data


def stage_profile(log: str) -> list[str]:
    block = log.rsplit("time per stage on rank 0 (MLFF_STUDENT_PROFILE):", 1)
    return block[1].strip("\n").split("\n\n")[0].splitlines() if len(block) == 2 else []


def short_name(name: str) -> str:
    """Kokkos kernels are named after their functor; keep that and drop the template noise."""
    functor = re.search(r"(?:ParallelFor|ParallelReduce|ParallelScan)<([^,<]+(?:<[^>]*>)?)", name)
    if functor:
        return "Kokkos: " + functor.group(1).strip()
    return re.sub(r"\(.*$", "", name)[:120]


def kernel_times(args, workdir: Path, head: str, flags: list[str], warm: int, steps: int) -> dict:
    """{kernel: [launches, ns]} of one ncu run: `run warm`, then `run steps`."""
    ncu = shutil.which("ncu") or next(iter(sorted(Path("/opt/nvidia").glob("nsight-compute/*/ncu"))), None)
    if ncu is None:
        raise RuntimeError("ncu (Nsight Compute) is not installed")
    script = head + f"""velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
run {warm}
run {steps}
"""
    (workdir / "in.lmp").write_text(script)
    report = workdir / f"ncu_{steps}.csv"
    cmd = [str(ncu), "--clock-control", "none", "--metrics", "gpu__time_duration.sum", "--csv",
           "--page", "raw", "--print-units", "base", "--kernel-name-base", "demangled",
           "--log-file", str(report), args.lmp, "-in", "in.lmp", "-log", "none", "-screen",
           "none", *flags]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=args.timeout)
    text = report.read_text() if report.exists() else ""
    rows = [line for line in text.splitlines() if line.startswith('"')]
    if proc.returncode != 0 or not rows:
        raise RuntimeError(f"ncu failed ({proc.returncode}): {(proc.stderr + text)[-800:]}")
    table = list(csv.DictReader(io.StringIO("\n".join(rows))))
    times = defaultdict(lambda: [0, 0.0])
    for row in table:
        try:
            ns = float(row["gpu__time_duration.sum"])
        except (KeyError, ValueError):
            continue  # the units row
        entry = times[short_name(row["Kernel Name"])]
        entry[0] += 1
        entry[1] += ns
    return times


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin", required=True)
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--system", default="box_100k")
    p.add_argument("--options", default="device cuda", help="pair_style options after the file")
    p.add_argument("--kokkos", action="store_true", help="-k on g 1 -sf kk (mlff/student/kk)")
    p.add_argument("--ncu", action="store_true", help="per-kernel times under Nsight Compute")
    p.add_argument("--steps", default="2,6", help="timed steps of the two ncu runs")
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
    head = header(args, str(data), args.model.resolve(), args.options, elements,
                  bool(atoms.pbc.any()))
    flags = (["-k", "on", "g", "1", "-sf", "kk", "-pk", "kokkos", "newton", "off", "neigh", "full"]
             if args.kokkos else [])
    result = {"system": args.system, "atoms": len(atoms), "model": str(args.model),
              "options": args.options, "kokkos": args.kokkos}

    seconds, nsteps, sections = timed_nve(args, args.work, head, len(atoms), flags)
    result["steps_per_s"] = nsteps / seconds
    result["ms_per_step"] = 1e3 * seconds / nsteps
    result["lammps_ms_per_step"] = {k: 1e3 * v / nsteps for k, v in sections.items()}

    os.environ["MLFF_STUDENT_PROFILE"] = "1"
    try:
        result["stages"] = stage_profile(run_lammps(
            args, args.work, head + """velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
run 3
run 20
""", args.timeout, flags))
    finally:
        del os.environ["MLFF_STUDENT_PROFILE"]

    few, more = (int(s) for s in args.steps.split(","))
    try:
        if not args.ncu:
            raise RuntimeError("not asked for (--ncu)")
        a = kernel_times(args, args.work, head, flags, 3, few)
        b = kernel_times(args, args.work, head, flags, 3, more)
        per_step = []
        for name in b:
            launches = (b[name][0] - a.get(name, [0, 0.0])[0]) / (more - few)
            ns = (b[name][1] - a.get(name, [0, 0.0])[1]) / (more - few)
            if launches > 0:
                per_step.append({"kernel": name, "launches": launches, "us": ns / 1e3})
        per_step.sort(key=lambda k: -k["us"])
        result["kernels_per_step"] = per_step
        result["gpu_busy_ms_per_step"] = sum(k["us"] for k in per_step) / 1e3
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        result["kernels_error"] = str(exc)[-800:]

    args.out.write_text(json.dumps(result, indent=1))
    print(f"{args.system} ({len(atoms)} atoms) {'kk ' if args.kokkos else ''}{args.model.name}: "
          f"{result['steps_per_s']:.1f} steps/s, {result['ms_per_step']:.3f} ms/step")
    print("LAMMPS sections, ms/step: " + ", ".join(
        f"{k} {v:.3f}" for k, v in result["lammps_ms_per_step"].items()))
    print("\n".join(result["stages"]))
    if "kernels_per_step" in result:
        print(f"GPU kernels: {result['gpu_busy_ms_per_step']:.3f} ms/step busy")
        for k in result["kernels_per_step"][:25]:
            print(f"  {k['us']:10.1f} us {k['launches']:6.1f}x  {k['kernel']}")
    else:
        print(result["kernels_error"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
