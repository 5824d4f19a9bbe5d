"""The filter phi(d) of every edge, two ways: read from the tables, or recomputed on tensor cores.

    python bench/notes/filter_kernels.py [--edges 3745296] [--out filters.json]
    TRITON_INTERPRET=1 python bench/notes/filter_kernels.py --check-only   # on a CPU

The fused message kernels read each edge's filter from a table of cubic coefficients (4 x 3H
values an edge, from L2). The alternative is to recompute it: the model's filter MLP (radial
basis -> H -> 3H) on a tile of edges, two matrix products on the tensor cores. Both kernels here
do only that part of the message kernels: for blocks of `block` edges they evaluate phi and sum
it over the block, so the time per edge of each is the cost of having the filter in registers.
Edge lengths are those of the 96,000-atom liquid box's distribution (uniform in volume between
0.9 A and the cutoff). Before timing, both are checked against the model's own filter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path

import torch
import triton
import triton.language as tl

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from mlff_student.deploy.filter_tables import tabulate
from mlff_student.deploy.message_kernels import _filter
from mlff_student.model.loading import load_model

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _tabulated_kernel(
    dist_ptr,
    table_ptr,
    out_ptr,
    E,
    KNOTS: tl.constexpr,
    INV_H: tl.constexpr,
    H: tl.constexpr,
    BE: tl.constexpr,
):
    block = tl.program_id(0)
    k = block * BE + tl.arange(0, BE)
    valid = k < E
    d = tl.load(dist_ptr + k, mask=valid, other=0.0)
    x = tl.minimum(d * INV_H, KNOTS * 1.0)
    i = tl.minimum(x.to(tl.int32), KNOTS - 1).to(tl.int64)
    t = (x - i.to(tl.float32))[:, None]
    ch = tl.arange(0, H)
    mask = valid[:, None] & (ch < H)[None, :]
    for group in tl.static_range(3):
        phi = _filter(table_ptr, i, t, group * H, ch, mask, H)
        tl.store(out_ptr + block * (3 * H) + group * H + ch, tl.sum(phi, axis=0))


@triton.jit
def _recomputed_kernel(
    dist_ptr,
    centers_ptr,
    w1_ptr,
    b1_ptr,
    w2_ptr,
    b2_ptr,
    out_ptr,
    E,
    CUTOFF: tl.constexpr,
    INV_WIDTH2: tl.constexpr,
    K: tl.constexpr,
    KP: tl.constexpr,
    H: tl.constexpr,
    BE: tl.constexpr,
    SMOOTH: tl.constexpr,
):
    block = tl.program_id(0)
    k = block * BE + tl.arange(0, BE)
    valid = k < E
    d = tl.load(dist_ptr + k, mask=valid, other=0.0)
    envelope = tl.where(d < CUTOFF, 0.5 * (tl.cos(3.141592653589793 * d / CUTOFF) + 1.0), 0.0)
    c = tl.arange(0, KP)
    centers = tl.load(centers_ptr + c, mask=c < K, other=0.0)
    diff = d[:, None] - centers[None, :]
    basis = tl.exp(-diff * diff * INV_WIDTH2) * envelope[:, None]
    basis = tl.where((c < K)[None, :] & valid[:, None], basis, 0.0)
    ch = tl.arange(0, H)
    w1 = tl.load(w1_ptr + c[:, None] * H + ch[None, :])  # [KP, H], rows past K are zero
    hidden = tl.dot(basis.to(w1.dtype), w1) + tl.load(b1_ptr + ch)[None, :]
    hidden = hidden * tl.sigmoid(hidden)
    for group in tl.static_range(3):
        w2 = tl.load(w2_ptr + ch[:, None] * (3 * H) + group * H + ch[None, :])  # [H, H]
        phi = tl.dot(hidden.to(w2.dtype), w2) + tl.load(b2_ptr + group * H + ch)[None, :]
        if SMOOTH:
            phi = phi * envelope[:, None]
        phi = tl.where(valid[:, None], phi, 0.0)
        tl.store(out_ptr + block * (3 * H) + group * H + ch, tl.sum(phi, axis=0))


class FilterKernels:
    """Both kernels for one interaction's filter of a model."""

    def __init__(
        self, model, interaction: int, device: torch.device, dtype: torch.dtype, block: int
    ):
        self.block, self.cutoff = block, model.cutoff
        message = model.interactions[interaction].message
        first, last = message.rbf_to_scalar[0], message.rbf_to_scalar[2]
        self.hidden = first.out_features
        self.num_rbf = first.in_features
        self.padded_rbf = max(16, triton.next_power_of_2(self.num_rbf))
        w1 = torch.zeros(self.padded_rbf, self.hidden, dtype=torch.float32)
        w1[: self.num_rbf] = first.weight.detach().float().t()
        self.w1 = w1.to(device, dtype).contiguous()
        self.b1 = first.bias.detach().float().to(device).contiguous()
        self.w2 = last.weight.detach().float().t().to(device, dtype).contiguous()
        self.b2 = last.bias.detach().float().to(device).contiguous()
        self.centers = model.rbf.centers.float().to(device).contiguous()
        self.inv_width2 = float(1.0 / model.rbf.widths[0].item() ** 2)
        self.smooth = bool(message.smooth)
        self.table = tabulate(model)[interaction].to(device).contiguous()

    def outputs(self, edges: int, device) -> torch.Tensor:
        return torch.empty(triton.cdiv(edges, self.block), 3 * self.hidden, device=device)

    def tabulated(self, dist: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        knots = self.table.shape[0]
        _tabulated_kernel[(out.shape[0],)](
            dist,
            self.table,
            out,
            dist.numel(),
            KNOTS=knots,
            INV_H=knots / self.cutoff,
            H=self.hidden,
            BE=self.block,
            num_warps=4,
        )
        return out

    def recomputed(self, dist: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        _recomputed_kernel[(out.shape[0],)](
            dist,
            self.centers,
            self.w1,
            self.b1,
            self.w2,
            self.b2,
            out,
            dist.numel(),
            CUTOFF=self.cutoff,
            INV_WIDTH2=self.inv_width2,
            K=self.num_rbf,
            KP=self.padded_rbf,
            H=self.hidden,
            BE=self.block,
            SMOOTH=self.smooth,
            num_warps=4,
        )
        return out


def reference(model: str | Path, interaction: int, dist: torch.Tensor, block: int) -> torch.Tensor:
    """The model's own filter in float64, summed over the same blocks of edges."""
    ref = load_model(model).double()
    message = ref.interactions[interaction].message
    with torch.no_grad():
        phi = message.filter(*ref.rbf.basis(dist.double().cpu()))
    pad = (-phi.shape[0]) % block
    phi = torch.cat([phi, phi.new_zeros(pad, phi.shape[1])])
    return phi.view(-1, block, phi.shape[1]).sum(1)


def liquid_distances(edges: int, cutoff: float, device, seed: int = 0) -> torch.Tensor:
    """Lengths uniform in volume between 0.9 A and the cutoff, as a liquid's neighbors are."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(edges, generator=g, dtype=torch.float64)
    lo, hi = 0.9**3, cutoff**3
    return (lo + u * (hi - lo)).pow(1.0 / 3.0).float().to(device).contiguous()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--model",
        default=str(Path(__file__).resolve().parents[2] / "potentials/student_gfn2_liquid.ckpt"),
    )
    p.add_argument("--edges", type=int, default=3745296, help="the 96,000-atom box's edge count")
    p.add_argument("--blocks", default="16,32,64")
    p.add_argument("--check-only", action="store_true")
    p.add_argument("--out", type=Path, default=Path("filter_kernels.json"))
    args = p.parse_args()
    device = torch.device("cpu" if INTERPRETED else "cuda")
    model = load_model(args.model).float().eval()

    # Agreement with the model's filter (float64) on a few blocks, every block size and dtype.
    dist = liquid_distances(256, model.cutoff, device, seed=1)
    for block in (int(b) for b in args.blocks.split(",")):
        expected = reference(args.model, 0, dist, block)
        scale = expected.abs().max().item()
        # On a GPU float32 products run as tf32 on the tensor cores: 10 bits of mantissa, as fp16.
        for dtype, tolerance in ((torch.float32, 2e-3), (torch.float16, 2e-3)):
            k = FilterKernels(model, 0, device, dtype, block)
            out = k.outputs(dist.numel(), device)
            table_error = (k.tabulated(dist, out).double().cpu() - expected).abs().max().item()
            recomputed_error = (
                (k.recomputed(dist, out).double().cpu() - expected).abs().max().item()
            )
            print(
                f"block {block:3d} {str(dtype)[6:]:8s}: tabulated {table_error / scale:.1e}, "
                f"recomputed {recomputed_error / scale:.1e} of the largest block sum",
                flush=True,
            )
            assert table_error <= 1e-5 * scale and recomputed_error <= tolerance * scale
    if args.check_only:
        return 0

    from triton.testing import do_bench

    dist = liquid_distances(args.edges, model.cutoff, device)
    results = {"edges": args.edges, "gpu": torch.cuda.get_device_name(), "ns_per_edge": {}}
    for block in (int(b) for b in args.blocks.split(",")):
        for dtype in (torch.float32, torch.float16):
            k = FilterKernels(model, 0, device, dtype, block)
            out = k.outputs(args.edges, device)
            name = f"block {block}, {str(dtype)[6:]}"
            table_ms = do_bench(partial(k.tabulated, dist, out), warmup=50, rep=200)
            recompute_ms = do_bench(partial(k.recomputed, dist, out), warmup=50, rep=200)
            # Tables in the weights' type: the 16-bit packages read 16-bit tables.
            k.table = k.table.to(dtype)
            table16_ms = do_bench(partial(k.tabulated, dist, out), warmup=50, rep=200)
            row = {
                "tabulated": 1e6 * table_ms / args.edges,
                "tabulated_table_in_weight_dtype": 1e6 * table16_ms / args.edges,
                "recomputed": 1e6 * recompute_ms / args.edges,
            }
            results["ns_per_edge"][name] = row
            flops = 2 * (k.padded_rbf * k.hidden + 3 * k.hidden * k.hidden) * args.edges
            print(
                f"{name:20s} ns per edge: tabulated {row['tabulated']:.3f} "
                f"({row['tabulated_table_in_weight_dtype']:.3f} with the table in that type), "
                f"recomputed {row['recomputed']:.3f} "
                f"({flops / (recompute_ms * 1e-3) / 1e12:.0f} TFLOP/s)",
                flush=True,
            )
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
