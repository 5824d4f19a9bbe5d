"""GPU time per kernel of one model step, in Python, under torch.profiler.

    python bench/model_profile.py [--system box_100k] [--precisions fp32,fp16,bf16] --out p.json

The model runs as the CUDA packages run it (`compile.energy_and_gradient_fn`: the fused Triton
message kernels with their filter tables, the interaction blocks under autocast in fp16/bf16, the
readout in fp32, then the edge gradients), but eagerly: Inductor's fusion of the pointwise
operations is missing, so the pointwise share is an upper bound, while the message kernels and
matrix products are the ones the package launches. The graph is the liquid box's, built once with
ASE. Kernels are grouped into message kernels, matrix products and the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from bench import systems
from mlff_student.deploy.compile import AUTOCAST, energy_and_gradient_fn
from mlff_student.deploy.message_kernels import tabulated_copy
from mlff_student.integrations.ase_calculator import edges_of
from mlff_student.model.loading import load_model


def group(name: str) -> str:
    if "message_forward" in name:
        return "message forward (Triton)"
    if "message_backward" in name:
        return "message backward (Triton)"
    if any(k in name.lower() for k in ("gemm", "sm90", "cutlass", "xmma", "cublas", "nvjet")):
        return "matrix products"
    if any(k in name.lower() for k in ("scatter", "index", "sort", "radix", "gather")):
        return "gathers, scatters, sorts"
    return "pointwise and reductions"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--model",
        default=str(Path(__file__).resolve().parents[1] / "potentials/student_gfn2_liquid.ckpt"),
    )
    p.add_argument("--system", default="box_100k")
    p.add_argument("--precisions", default="fp32,fp16,bf16")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument(
        "--device", default="cuda", help="cpu: a check of the script (TRITON_INTERPRET=1)"
    )
    p.add_argument("--out", type=Path, default=Path("model_profile.json"))
    args = p.parse_args()

    atoms = systems([args.system])[args.system]()
    device = torch.device(args.device)
    src, dst, shift = edges_of(atoms, load_model(args.model).cutoff)
    pos = torch.tensor(atoms.positions, dtype=torch.float32, device=device)
    src_t = torch.as_tensor(src, device=device)
    dst_t = torch.as_tensor(dst, device=device)
    edge_vec = pos[src_t] + torch.tensor(shift, dtype=torch.float32, device=device) - pos[dst_t]
    z = torch.as_tensor(atoms.numbers, device=device)
    mask = torch.ones(len(atoms), device=device)
    result = {"system": args.system, "atoms": len(atoms), "edges": len(src), "precisions": {}}
    for precision in args.precisions.split(","):
        model = load_model(args.model).float().to(device).eval()
        fd = AUTOCAST.get(precision, torch.float32)
        fn = energy_and_gradient_fn(tabulated_copy(model, feature_dtype=fd), precision, device.type)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        for _ in range(2):
            fn(z, src_t, dst_t, edge_vec, mask)
        sync()
        start = time.perf_counter()
        for _ in range(args.steps):
            fn(z, src_t, dst_t, edge_vec, mask)
        sync()
        wall_ms = 1e3 * (time.perf_counter() - start) / args.steps
        gpu = device.type == "cuda"
        with profile(activities=[ProfilerActivity.CUDA if gpu else ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                fn(z, src_t, dst_t, edge_vec, mask)
            sync()
        groups, kernels = {}, []
        for e in prof.key_averages():
            us = (e.device_time_total if gpu else e.self_cpu_time_total) / args.steps
            if us <= 0 or e.key.startswith(("cuda", "Memcpy", "Memset")) and "kernel" not in e.key:
                continue
            kernels.append({"kernel": e.key[:120], "launches": e.count / args.steps, "us": us})
            groups[group(e.key)] = groups.get(group(e.key), 0.0) + us
        kernels.sort(key=lambda k: -k["us"])
        result["precisions"][precision] = {
            "ms_per_step": wall_ms,
            "groups_us": groups,
            "kernels": kernels[:30],
        }
        print(
            f"{precision}: {wall_ms:.2f} ms/step (eager), GPU time by group (ms): "
            + ", ".join(
                f"{g} {us / 1e3:.2f}" for g, us in sorted(groups.items(), key=lambda x: -x[1])
            ),
            flush=True,
        )
        for k in kernels[:8]:
            print(f"   {k['us'] / 1e3:8.3f} ms {k['launches']:5.1f}x {k['kernel']}")
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
