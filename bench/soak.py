"""Soak run: a long benzene MD run with the memory of the LAMMPS process sampled as it goes.

    python bench/soak.py --lmp LMP --plugin mlffstudentplugin.so --model FILE \
        [--steps 1000000] [--pair-options "device cuda"] [--out soak.json]

Host memory (resident set) and GPU memory (nvidia-smi, where there is one) are sampled every
--interval seconds. After the first tenth of the run (start-up, the CUDA graph capture, the caching
allocator filling) neither may grow: the script exits 1 when one grows by more than --tolerance-mib.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from mlff_student.data.systems import molecules, write_lammps_data


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def gpu_mib(pid: int) -> float | None:
    if not shutil.which("nvidia-smi"):
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid):
            return float(fields[1])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lmp", required=True)
    parser.add_argument("--plugin", required=True, type=lambda p: Path(p).resolve())
    parser.add_argument("--model", required=True, type=lambda p: Path(p).resolve())
    parser.add_argument("--pair-options", default="")
    parser.add_argument("--lmp-args", default="", help="e.g. '-k on g 1 -sf kk'")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--tolerance-mib", type=float, default=4.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mlff_soak_"))
    write_lammps_data(molecules()["benzene"], work / "benzene.data", ["C", "H"])
    (work / "in.lmp").write_text(f"""plugin load {args.plugin}
units metal
boundary f f f
atom_style atomic
read_data benzene.data
pair_style mlff/student {args.pair_options}
pair_coeff * * {args.model} C H
neighbor 1.0 bin
velocity all create 300 7 dist gaussian
fix nve all nve
timestep 0.0005
thermo {max(args.steps // 10, 1)}
run {args.steps}
""")
    proc = subprocess.Popen(
        [
            args.lmp,
            "-in",
            "in.lmp",
            "-log",
            "log.lammps",
            "-screen",
            "none",
            *args.lmp_args.split(),
        ],
        cwd=work,
    )
    start = time.time()
    samples = []
    while proc.poll() is None:
        try:
            samples.append(
                {
                    "s": round(time.time() - start, 1),
                    "host_mib": resident_mib(proc.pid),
                    "gpu_mib": gpu_mib(proc.pid),
                }
            )
        except FileNotFoundError:  # the process ended between poll and read
            break
        time.sleep(args.interval)
    log = (work / "log.lammps").read_text()
    if proc.returncode != 0:
        print(log[-3000:], file=sys.stderr)
        return 1
    loop = re.search(r"Loop time of ([0-9.eE+-]+) on .* for (\d+) steps", log)
    steps_per_s = int(loop.group(2)) / float(loop.group(1))
    settled = samples[len(samples) // 10 :] or samples
    growth = {}
    for key in ("host_mib", "gpu_mib"):
        values = [s[key] for s in settled if s[key] is not None]
        growth[key] = (max(values) - values[0]) if values else None
    report = {
        "steps": args.steps,
        "steps_per_s": steps_per_s,
        "samples": len(samples),
        "growth_mib_after_first_tenth": growth,
        "first": settled[0],
        "last": settled[-1],
        "pair_options": args.pair_options,
        "lmp_args": args.lmp_args,
    }
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps({**report, "trace": samples}, indent=1))
    grew = [k for k, g in growth.items() if g is not None and g > args.tolerance_mib]
    if grew:
        print(f"memory grew during the run: {', '.join(grew)}", file=sys.stderr)
        return 1
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
