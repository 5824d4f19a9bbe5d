"""Whole-LAMMPS-run benchmark of pair_style mlff/student: variants side by side in one run.

    python bench/bench.py --lmp LMP --plugin mlffstudentplugin.so --models DIR \
        --model NAME --liquid-model NAME --out results.json

DIR holds, for each model NAME, NAME.pt (TorchScript, float32) and, for AOTI variants,
NAME_<device>_<precision>.pt2 packages compiled on this machine. Molecules (alone or as a dilute
ensemble) run --model, the liquid boxes --liquid-model. Every variant runs the same LAMMPS input
on the same data file: a warm-up run, then a timed run whose LAMMPS loop time gives steps/s.
Accuracy of each precision is measured against fp32 of the same format on the same structures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from mlff_student.data.systems import molecular_box, molecule_ensemble, molecules, write_lammps_data

NKTV2P_METAL = 1.6021765e6


def is_liquid(system: str) -> bool:
    """The liquid-benzene boxes, which run the condensed-phase model."""
    return system.startswith("box_")


def systems(names: list[str]) -> dict:
    mols = molecules()
    benzene = mols["benzene"]
    table = {
        "benzene": lambda: mols["benzene"],
        "loratadine": lambda: mols["loratadine"],
        "box_1k": lambda: molecular_box(benzene, 4, 0.87, seed=1),
        "box_10k": lambda: molecular_box(benzene, 9, 0.87, seed=2),
        "box_50k": lambda: molecular_box(benzene, 16, 0.87, seed=5),
        "box_100k": lambda: molecular_box(benzene, 20, 0.87, seed=3),
        "box_1m": lambda: molecular_box(benzene, 44, 0.87, seed=4),
    }
    for b in (1, 16, 256, 4096):
        table[f"ensemble_{b}"] = lambda b=b: molecule_ensemble(benzene, b, spacing=12.0)
    return {n: table[n] for n in names}


def variants(models: Path, model: str, device: str, names: list[str], threads: int) -> dict:
    """[kk-]<format>-<precision>[-eager] -> (file of the model, pair style, its options, LAMMPS
    flags).

    format: ts (TorchScript), aoti (AOTInductor package; on CUDA with the fused message kernels)
    or aotitorch (AOTInductor package of the model's own message ops, as TorchScript runs them).

    kk-: pair_style mlff/student/kk through LAMMPS's KOKKOS package (-sf kk), the whole step on
    the device; -eager launches every kernel each step (cuda_graph no); -det runs with
    deterministic yes.

    mliap-<precision>: the same model through LAMMPS's pair_style mliap unified with Kokkos
    (python -m mlff_student mliap; a LAMMPS built with MLFF_MLIAP=1), the model run eagerly by
    PyTorch in the embedded Python, as the peer ML potentials run there.

    ase-fp32[-compile]: no LAMMPS; ASE's velocity Verlet calling the model in PyTorch each step
    (bench/ase_loop.py), eager or under torch.compile, from NAME.ckpt or NAME.onnx; molecules only.

    lj, kk-lj: LAMMPS's own step with pair_style lj/cut (epsilon 0) at the model's 5 Å cutoff,
    plain and Kokkos: the time the engine takes per step around any pair style.

    <variant>@baseline: the variant through --baseline-plugin, a build of the code before a
    change, so that a change is measured against its baseline in the same invocation."""
    out = {}
    for name in names:
        kokkos = name.startswith("kk-")
        fmt, *rest = name.removeprefix("kk-").removesuffix("@baseline").split("-")
        precision, *mode = rest or ["fp64"]
        style = "mlff/student"
        if fmt == "ase":
            path = next(
                (p for p in (models / f"{model}.ckpt", models / f"{model}.onnx") if p.exists()),
                models / f"{model}.ckpt",
            )
            out[name] = (path, "ase", "compile" if "compile" in mode else "eager", [])
            continue
        if fmt == "lj":  # no model file: the folder stands in, so the variant is kept
            path, style, options = models, "lj/cut", "5.0"
        elif fmt == "mliap":
            path, style = models / f"{model}_mliap_{precision}.pt", "mliap"
            options = f"unified {path} 0"
            kokkos = True
        elif fmt == "ts":
            path, options = models / f"{model}.pt", f"device {device} precision {precision}"
        elif fmt == "aoti":
            path, options = models / f"{model}_{device}_{precision}.pt2", f"device {device}"
        elif fmt == "aotitorch":  # the package compiled with the model's own message ops
            path = models / f"{model}_{device}_{precision}_torch.pt2"
            options = f"device {device}"
        else:
            raise ValueError(f"unknown variant format '{fmt}' in '{name}'")
        for m in mode:
            if m not in ("eager", "det"):
                raise ValueError(f"unknown variant mode '{m}' in '{name}'")
        if "eager" in mode:
            options += " cuda_graph no"
        if "det" in mode:
            options += " deterministic yes"
        flags = []
        if kokkos:
            flags = ["-k", "on", "g", "1"] if device == "cuda" else ["-k", "on", "t", str(threads)]
            flags += ["-sf", "kk", "-pk", "kokkos"] + (
                ["newton", "on", "neigh", "half"]
                if style == "mliap"
                else ["newton", "off", "neigh", "full"]
            )
        out[name] = (path, style, options, flags)
    return {k: v for k, v in out.items() if v[0].exists()}


class GpuMemory:
    """Peak GPU memory in use while a command runs (nvidia-smi, every 0.1 s)."""

    def __init__(self):
        self.peak = 0.0
        self._stop = threading.Event()

    def _poll(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout
                self.peak = max(self.peak, float(out.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return
            time.sleep(0.1)

    def __enter__(self):
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_lammps(
    args, workdir: Path, script: str, timeout: int, flags: list[str], nprocs: int = 1
) -> str:
    (workdir / "in.lmp").write_text(script)
    cmd = [args.lmp, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none", *flags]
    if nprocs > 1:
        cmd = ["mpirun", "-np", str(nprocs), "--oversubscribe", *cmd]
    # LAMMPS's embedded Python (pair_style mliap unified) finds torch and mlff_student where this
    # Python does; not this directory, whose scripts would stand in for modules of the same names.
    here = Path(__file__).resolve().parent
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and Path(p).resolve() != here),
    }
    proc = subprocess.run(
        cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )
    log = (workdir / "log.lammps").read_text() if (workdir / "log.lammps").exists() else ""
    if proc.returncode != 0:
        raise RuntimeError((proc.stdout + proc.stderr + log)[-1500:])
    return log


def header(
    args,
    data: str,
    model: Path,
    options: str,
    elements: list[str],
    periodic: bool,
    style: str = "mlff/student",
    plugin: str | None = None,
) -> str:
    # pair_coeff of mlff/student names the model file; mliap's names only the elements, and
    # needs LAMMPS's communication buffers sized for its feature exchanges
    # (integrations/mliap.py says why).
    coeff = f"{model} " if style == "mlff/student" else ""
    if style == "lj/cut":  # no forces: the atoms move as the thermal velocities take them
        return f"""units metal
boundary {"p p p" if periodic else "m m m"}
atom_style atomic
read_data {data}
pair_style lj/cut {options}
pair_coeff * * 0.0 1.0
neighbor 1.0 bin
"""
    if style == "mliap":
        import torch

        width = torch.load(model, weights_only=False).exchange_values
        coeff = ""
        options = f"{options}\nfix mliap_comm all property/atom d2_mliap_comm {width} ghost yes"
    return f"""plugin load {plugin or args.plugin}
units metal
boundary {"p p p" if periodic else "m m m"}
atom_style atomic
read_data {data}
pair_style {style} {options}
pair_coeff * * {coeff}{" ".join(elements)}
neighbor 1.0 bin
"""


def steps_for(natoms: int, device: str = "cuda") -> tuple[int, int]:
    """(warm-up, timed) steps: enough for a steady rate on a GPU; a CPU, some hundred times
    slower per step, times a tenth of them."""
    if natoms <= 2000:
        warm, steps = 50, 500
    elif natoms <= 20000:
        warm, steps = 10, 100
    elif natoms <= 200000:
        warm, steps = 3, 20
    else:
        warm, steps = 2, 5
    return (warm, steps) if device == "cuda" else (max(1, warm // 10), max(5, steps // 10))


def timed_nve(
    args,
    workdir: Path,
    head: str,
    atoms_per_rank: int,
    flags: list[str],
    nprocs: int = 1,
    device: str = "cuda",
) -> tuple[float, int]:
    """A warm-up NVE run, then a timed one: its LAMMPS loop time (s) and number of steps."""
    warm, steps = steps_for(atoms_per_rank, device)
    script = (
        head
        + f"""velocity all create 300.0 4928459 mom yes rot yes dist gaussian
timestep 0.0005
fix nve all nve
thermo {steps}
run {warm}
run {steps}
"""
    )
    log = run_lammps(args, workdir, script, args.timeout, flags, nprocs)
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps", log)
    return float(loops[-1][0]), int(loops[-1][1]), timer_breakdown(log)


def timer_breakdown(log: str) -> dict:
    """Seconds per LAMMPS timer section (Pair, Neigh, Comm, Modify, Other, ...) of the last run."""
    table = log.rsplit("MPI task timing breakdown:", 1)[-1].split("\n\n", 1)[0]
    rows = re.findall(r"^(\w+)\s+\|\s*[0-9.eE+-]*\s+\|\s*([0-9.eE+-]+)\s+\|", table, re.M)
    return {section: float(avg) for section, avg in rows}


def time_variant(args, workdir: Path, natoms: int, head: str, flags: list[str]) -> dict:
    with GpuMemory() as mem:
        seconds, nsteps, sections = timed_nve(
            args, workdir, head, natoms, flags, device=args.device
        )
    return rates(seconds, nsteps, natoms) | {
        "peak_gpu_mib": mem.peak,
        "seconds_per_section": sections,
    }


def rates(seconds: float, nsteps: int, natoms: int) -> dict:
    sps = nsteps / seconds
    return {
        "steps": nsteps,
        "seconds": seconds,
        "steps_per_s": sps,
        "ns_per_day": sps * 0.0005 * 1e-3 * 86400,
        "us_per_atom_step": 1e6 / (sps * natoms),
    }


def time_python_loop(args, atoms, model: Path, mode: str) -> dict:
    from ase_loop import steps_per_second

    warm, steps = steps_for(len(atoms), args.device)
    with GpuMemory() as mem:
        run = steps_per_second(atoms, model, args.device, mode == "compile", warm, steps)
    return rates(run["seconds"], run["steps"], len(atoms)) | {"peak_gpu_mib": mem.peak}


def single_point(args, workdir: Path, head: str, flags: list[str]):
    script = (
        head
        + """dump f all custom 1 f.dump id fx fy fz
dump_modify f sort id format float %.10g
run 0
print "PE $(pe:%.12g)"
"""
    )
    log = run_lammps(args, workdir, script, args.timeout, flags)
    pe = float(next(line for line in log.splitlines() if line.startswith("PE ")).split()[1])
    return pe, np.loadtxt(workdir / "f.dump", skiprows=9)[:, 1:4]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lmp", required=True)
    p.add_argument("--plugin", required=True)
    p.add_argument("--baseline-plugin", help="the plugin that <variant>@baseline variants load")
    p.add_argument("--models", required=True, type=Path)
    p.add_argument("--model", required=True, help="name of the molecules' model files in --models")
    p.add_argument("--liquid-model", required=True, help="name of the liquid boxes' model files")
    p.add_argument("--device", default="cuda")
    p.add_argument(
        "--systems",
        default="benzene,loratadine,ensemble_1,ensemble_16,ensemble_256,"
        "ensemble_4096,box_1k,box_10k,box_100k",
    )
    p.add_argument(
        "--variants",
        default="ts-fp32,aoti-fp32,aoti-tf32,aoti-fp16,aoti-bf16,ts-tf32,ts-fp16,ts-bf16",
    )
    p.add_argument("--accuracy-systems", default="loratadine,box_1k,box_10k")
    p.add_argument("--work", type=Path, default=Path("bench_work"))
    p.add_argument("--out", type=Path, default=Path("bench_results.json"))
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument(
        "--threads",
        type=int,
        default=8,
        help="OMP_NUM_THREADS of each LAMMPS run (graph build and staging threads)",
    )
    args = p.parse_args()
    args.plugin = str(Path(args.plugin).resolve())
    if args.baseline_plugin:
        args.baseline_plugin = str(Path(args.baseline_plugin).resolve())
    elif "@baseline" in args.variants:
        p.error("@baseline variants need --baseline-plugin")

    chosen = {
        model: variants(
            args.models.resolve(), model, args.device, args.variants.split(","), args.threads
        )
        for model in (args.model, args.liquid_model)
    }
    results = {
        "machine": platform.node(),
        "python": sys.version.split()[0],
        "device": args.device,
        "command": " ".join(sys.argv),
        "threads": args.threads,
        "models": {"molecules": args.model, "liquid": args.liquid_model},
        "variants": list(dict.fromkeys(v for c in chosen.values() for v in c)),
        "timings": {},
        "accuracy": {},
    }
    try:
        results["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        results["gpu"] = None
    builders = systems(args.systems.split(","))
    for name, build in builders.items():
        atoms = build()
        natoms = len(atoms)
        elements = sorted(set(atoms.get_chemical_symbols()))
        sysdir = args.work / name
        sysdir.mkdir(parents=True, exist_ok=True)
        write_lammps_data(atoms, sysdir / "system.data", elements)
        model_name = args.liquid_model if is_liquid(name) else args.model
        entry = {
            "atoms": natoms,
            "molecules": natoms // 12 if name.startswith(("ensemble", "box", "benzene")) else 1,
            "model": model_name,
        }
        reference = {}
        for vname, (model, style, options, flags) in chosen[model_name].items():
            if style == "ase" and (atoms.pbc.any() or natoms > 200):
                continue  # the model's own graph has no periodic images; molecules only
            vdir = sysdir / vname
            vdir.mkdir(exist_ok=True)
            plugin = args.baseline_plugin if vname.endswith("@baseline") else args.plugin
            head = header(
                args,
                str((sysdir / "system.data").resolve()),
                model,
                options,
                elements,
                bool(atoms.pbc.any()),
                style,
                plugin,
            )
            try:
                entry[vname] = (
                    time_python_loop(args, atoms, model, options)
                    if style == "ase"
                    else time_variant(args, vdir, natoms, head, flags)
                )
            except Exception as exc:  # an out-of-memory or failed variant is a result too
                entry[vname] = {"error": str(exc).strip().splitlines()[-1][:300]}
            print(
                f"{name:14s} {natoms:8d} {vname:10s} "
                + (
                    f"{entry[vname]['steps_per_s']:10.1f} steps/s  "
                    f"{entry[vname]['us_per_atom_step']:.4f} us/atom-step"
                    if "steps_per_s" in entry[vname]
                    else entry[vname]["error"]
                ),
                flush=True,
            )
            if name in args.accuracy_systems.split(",") and style not in ("ase", "lj/cut"):
                try:
                    reference[vname] = single_point(args, vdir, head, flags)
                except Exception:
                    reference[vname] = None
        results["timings"][name] = entry
        for vname, value in reference.items():
            # Reduced precisions against fp32 of their format; compiled fp32 against TorchScript.
            kk, fmt = ("kk-", vname[3:]) if vname.startswith("kk-") else ("", vname)
            base_name = kk + fmt.split("-")[0] + "-fp32"
            if vname == base_name:
                base_name = kk + "ts-fp32"
            base = reference.get(base_name)
            if value is None or base is None or vname == base_name:
                continue
            (e, f), (e0, f0) = value, base
            results["accuracy"].setdefault(vname, {})[name] = {
                "energy_error_per_atom_meV": 1e3 * abs(e - e0) / natoms,
                "force_rmse": float(np.sqrt(np.mean((f - f0) ** 2))),
                "force_correlation": float(np.corrcoef(f.ravel(), f0.ravel())[0, 1]),
            }
        args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results["accuracy"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
