"""The fused message kernels alone, on a liquid box's graph, for several launch shapes.

    python bench/notes/message_sweep.py [--system box_100k] [--shapes 8x2,16x2,16x4,32x4] \
        [--knots 2048,512] --out sweep.json

For every feature type (fp32, fp16, bf16) and filter table size, the forward and backward
kernels of deploy/message_kernels.py run on the box's edges with random node features, each launch
shape BExW meaning BE edges per step of a node's loop on W warps (the packages use
LAUNCH_SHAPES[table type]). Every shape's outputs are checked against the packaged shape's
before it is timed (triton.testing.do_bench, GPU time per call). The graph is built once with
ASE.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/bench.py
from bench import systems
from mlff_student.deploy import message_kernels as mk
from mlff_student.deploy.filter_tables import tabulate
from mlff_student.integrations.ase_calculator import edges_of
from mlff_student.model.loading import load_model

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def box_graph(system: str, cutoff: float, hidden: int, device) -> tuple[dict, dict]:
    """The message kernels' edge inputs for one of bench.py's systems, and random node features
    and feature gradients (float32) for them."""
    atoms = systems([system])[system]()
    src, dst, shift = edges_of(atoms, cutoff)
    pos = torch.tensor(atoms.positions, dtype=torch.float64)
    vec = (pos[torch.as_tensor(src)] + torch.as_tensor(shift) - pos[torch.as_tensor(dst)]).float()
    dist = vec.norm(dim=1)
    n = len(atoms)
    src_t, dst_t = torch.as_tensor(src).to(device), torch.as_tensor(dst).to(device)
    perm_dst, rowptr_dst = mk.csr(dst_t, n)
    perm_src, rowptr_src = mk.csr(src_t, n)
    g = torch.Generator(device=device).manual_seed(0)
    edges = {
        "dist": dist.to(device),
        "direction": (vec / dist[:, None]).to(device).contiguous(),
        "src": src_t,
        "dst": dst_t,
        "perm_dst": perm_dst,
        "rowptr_dst": rowptr_dst,
        "perm_src": perm_src,
        "rowptr_src": rowptr_src,
    }
    features = {
        name: torch.randn(shape, generator=g, device=device)
        for name, shape in (
            ("s", (n, hidden)),
            ("v", (n, 3, hidden)),
            ("gs", (n, hidden)),
            ("gv", (n, 3, hidden)),
        )
    }
    return edges, features


def shape_name(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


def run_kernels(shape: tuple[int, int], inputs: dict, table: torch.Tensor, cutoff: float):
    mk.LAUNCH_SHAPES[table.dtype] = shape
    e = inputs

    def forward():
        return mk.message(
            e["s"],
            e["v"],
            e["dist"],
            e["direction"],
            e["src"],
            e["dst"],
            e["perm_dst"],
            e["rowptr_dst"],
            e["perm_src"],
            e["rowptr_src"],
            table,
            cutoff,
        )

    def backward():
        return mk.message_backward(
            e["gs"],
            e["gv"],
            e["s"],
            e["v"],
            e["dist"],
            e["direction"],
            e["dst"],
            e["perm_src"],
            e["rowptr_src"],
            table,
            cutoff,
        )

    return forward, backward


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--model",
        default=str(Path(__file__).resolve().parents[2] / "potentials/student_gfn2_liquid.ckpt"),
    )
    p.add_argument("--system", default="box_100k")
    p.add_argument("--shapes", default="8x2,8x4,16x2,16x4,32x4")
    p.add_argument("--knots", default="2048,512")
    p.add_argument("--dtypes", default="fp32,fp16,bf16")
    p.add_argument(
        "--device", default="cuda", help="cpu: a check of the script (TRITON_INTERPRET=1)"
    )
    p.add_argument("--out", type=Path, default=Path("message_sweep.json"))
    args = p.parse_args()
    from triton.testing import do_bench

    device = torch.device(args.device)
    model = load_model(args.model).float().eval()
    tables = {int(k): tabulate(model, int(k)) for k in args.knots.split(",")}
    hidden = next(iter(tables.values()))[0].shape[2] // 3
    base, features = box_graph(args.system, model.cutoff, hidden, device)
    n, edges = features["s"].shape[0], base["dist"].numel()
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
    packaged = dict(mk.LAUNCH_SHAPES)
    results = {
        "system": args.system,
        "atoms": n,
        "edges": edges,
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        "packaged_shapes": {str(k)[6:]: shape_name(v) for k, v in packaged.items()},
        "ms": {},
    }
    print(
        f"{args.system}: {n} atoms, {edges} edges; packaged shapes {results['packaged_shapes']}",
        flush=True,
    )
    for knots, per_interaction in tables.items():
        for dname in args.dtypes.split(","):
            dtype = DTYPES[dname]
            inputs = base | {k: v.to(dtype) for k, v in features.items()}
            table = per_interaction[0].to(device, dtype).contiguous()
            fwd, bwd = run_kernels(packaged[dtype], inputs, table, model.cutoff)
            expected = [t.clone() for t in fwd() + bwd()]
            if device.type == "cpu":  # the interpreter: one small check per dtype
                shapes = shapes[:2]
            for shape in shapes:
                fwd, bwd = run_kernels(shape, inputs, table, model.cutoff)
                try:
                    outputs = fwd() + bwd()
                except Exception as exc:  # a shape Triton cannot compile is a result too
                    key = f"{dname} knots {knots} shape {shape_name(shape)}"
                    results["ms"][key] = {"error": str(exc).strip().splitlines()[-1][:300]}
                    print(f"{key:28s} {results['ms'][key]['error']}", flush=True)
                    continue
                # Sums in another order: outputs agree to a few roundings of their own type.
                worst = max(
                    ((a.float() - b.float()).abs().max() / b.float().abs().max()).item()
                    / torch.finfo(b.dtype).eps
                    for a, b in zip(outputs, expected, strict=True)
                )
                assert worst < 8, f"shape {shape}: outputs differ by {worst:.1f} roundings"
                if device.type == "cpu":
                    print(f"{dname} knots {knots} shape {shape}: agrees ({worst:.1f} roundings)")
                    continue
                fwd_ms, bwd_ms = (
                    do_bench(fwd, warmup=10, rep=100),
                    do_bench(bwd, warmup=10, rep=100),
                )
                key = f"{dname} knots {knots} shape {shape_name(shape)}"
                results["ms"][key] = {
                    "forward": fwd_ms,
                    "backward": bwd_ms,
                    "ns_per_edge": 1e6 * (fwd_ms + bwd_ms) / edges,
                }
                print(f"{key:28s} forward {fwd_ms:7.3f} ms  backward {bwd_ms:7.3f} ms", flush=True)
            args.out.write_text(json.dumps(results, indent=1))
    mk.LAUNCH_SHAPES.update(packaged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
