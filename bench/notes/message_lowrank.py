"""A prototype of the forward message kernel with the filter factorised to rank R, against the
packaged kernel, on a liquid box's graph.

    python bench/notes/message_lowrank.py [--system box_100k] [--ranks 32,64] --out lowrank.json
    TRITON_INTERPRET=1 python bench/notes/message_lowrank.py --system benzene --device cpu

The filter phi(d) of an interaction ([3H] values per edge) is close to a sum of few products:
phi(d) ~ sum_r u_r(d) W[r, :], W the R leading right singular vectors of the tabulated filter.
A node's messages, sum over its edges of phi(d_e) * s_j(e) channel by channel, then become
sum_r W[r, c] A[r, c] with A = U^T S: U the [edges, R] values u_r(d_e), S the neighbors'
feature rows. A is a matrix product on the tensor cores (16-bit inputs, float32 sums), and each
edge reads R cubic coefficients x 4 from a table instead of 3H x 4. The directional part needs
only sum_e u_r(d_e) d_e per node. Each program takes one node and a chunk of its channels.
Only the forward kernel exists here, to decide whether the factorisation pays before the
backward kernel (and the gradient of the distances) is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import triton
import triton.language as tl

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from message_sweep import box_graph

from mlff_student.deploy import message_kernels as mk
from mlff_student.deploy.filter_tables import tabulate
from mlff_student.model.loading import load_model


@triton.jit
def _lowrank_forward_kernel(
    s_ptr,
    v_ptr,
    dist_ptr,
    dir_ptr,
    src_ptr,
    perm_ptr,
    rowptr_ptr,
    u_ptr,
    basis_ptr,
    ds_ptr,
    dv_ptr,
    KNOTS: tl.constexpr,
    INV_H: tl.constexpr,
    H: tl.constexpr,
    R: tl.constexpr,
    C: tl.constexpr,
    BE: tl.constexpr,
):
    node = tl.program_id(0).to(tl.int64)
    ch = tl.program_id(1) * C + tl.arange(0, C)
    r = tl.arange(0, R)
    start = tl.load(rowptr_ptr + node)
    end = tl.load(rowptr_ptr + node + 1)
    a_s = tl.zeros([R, C], dtype=tl.float32)
    a_x = tl.zeros([R, C], dtype=tl.float32)
    a_y = tl.zeros([R, C], dtype=tl.float32)
    a_z = tl.zeros([R, C], dtype=tl.float32)
    b_x = tl.zeros([R], dtype=tl.float32)
    b_y = tl.zeros([R], dtype=tl.float32)
    b_z = tl.zeros([R], dtype=tl.float32)
    k0 = start
    while k0 < end:
        _, valid, j, dx, dy, dz, i, t, _, rows_ok = mk._edge_block(
            k0, end, perm_ptr, dist_ptr, src_ptr, dir_ptr, r < R, KNOTS, INV_H, BE
        )
        row = u_ptr + i[:, None] * (4 * R) + r[None, :]
        u = tl.load(row, mask=rows_ok, other=0.0) + t * (
            tl.load(row + R, mask=rows_ok, other=0.0)
            + t
            * (
                tl.load(row + 2 * R, mask=rows_ok, other=0.0)
                + t * tl.load(row + 3 * R, mask=rows_ok, other=0.0)
            )
        )
        m = valid[:, None]
        u_t = tl.trans(u.to(s_ptr.dtype.element_ty))  # [R, BE]
        s_j = tl.load(s_ptr + j[:, None] * H + ch[None, :], mask=m, other=0.0)
        a_s = tl.dot(u_t, s_j, a_s)
        v_j = v_ptr + j[:, None] * (3 * H) + ch[None, :]
        a_x = tl.dot(u_t, tl.load(v_j, mask=m, other=0.0), a_x)
        a_y = tl.dot(u_t, tl.load(v_j + H, mask=m, other=0.0), a_y)
        a_z = tl.dot(u_t, tl.load(v_j + 2 * H, mask=m, other=0.0), a_z)
        b_x += tl.sum(u * dx[:, None], axis=0)
        b_y += tl.sum(u * dy[:, None], axis=0)
        b_z += tl.sum(u * dz[:, None], axis=0)
        k0 += BE
    w = basis_ptr + r[:, None] * (3 * H) + ch[None, :]  # W [R, 3H], float32
    w_s = tl.load(w)
    w_1 = tl.load(w + H)
    w_2 = tl.load(w + 2 * H)
    tl.store(ds_ptr + node * H + ch, tl.sum(w_s * a_s, axis=0))
    out = dv_ptr + node * (3 * H) + ch
    tl.store(out, tl.sum(w_1 * a_x + w_2 * b_x[:, None], axis=0))
    tl.store(out + H, tl.sum(w_1 * a_y + w_2 * b_y[:, None], axis=0))
    tl.store(out + 2 * H, tl.sum(w_1 * a_z + w_2 * b_z[:, None], axis=0))


def factorised(table: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(u table [knots, 4, rank], W [rank, 3H], largest error of the factorised knot values
    relative to the largest value). The cubic coefficients are linear in the values and slopes,
    so projecting them onto W gives u's own cubic interpolant."""
    t = table.double()
    _, _, vh = torch.linalg.svd(t[:, 0, :], full_matrices=False)
    w = vh[:rank]  # [rank, 3H]
    u = t @ w.T  # [knots, 4, rank]
    error = ((u[:, 0, :] @ w - t[:, 0, :]).abs().max() / t[:, 0, :].abs().max()).item()
    return u.float().contiguous(), w.float().contiguous(), error


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--model",
        default=str(Path(__file__).resolve().parents[2] / "potentials/student_gfn2_liquid.ckpt"),
    )
    p.add_argument("--system", default="box_100k")
    p.add_argument("--ranks", default="16,32,64")
    p.add_argument(
        "--shapes",
        default="16x32x4,32x32x4,16x64x4,16x32x2",
        help="edges per step x channels per program x warps",
    )
    p.add_argument(
        "--device", default="cuda", help="cpu: a check of the script (TRITON_INTERPRET=1)"
    )
    p.add_argument("--out", type=Path, default=Path("message_lowrank.json"))
    args = p.parse_args()
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    model = load_model(args.model).float().eval()
    table = tabulate(model)[0]
    knots, hidden = table.shape[0], table.shape[2] // 3
    edges, features = box_graph(args.system, model.cutoff, hidden, device)
    n = features["s"].shape[0]
    e = edges

    def packaged(dtype):
        s, v = features["s"].to(dtype), features["v"].to(dtype)
        t = table.to(device, dtype).contiguous()
        return lambda: mk.message(
            s,
            v,
            e["dist"],
            e["direction"],
            e["src"],
            e["dst"],
            e["perm_dst"],
            e["rowptr_dst"],
            e["perm_src"],
            e["rowptr_src"],
            t,
            model.cutoff,
        )

    reference = [x.double() for x in packaged(torch.float32)()]
    scale = [x.abs().max().item() for x in reference]

    def error(outputs) -> float:
        return max(
            ((x.double() - ref).abs().max() / sc).item()
            for x, ref, sc in zip(outputs, reference, scale, strict=True)
        )

    results = {
        "system": args.system,
        "atoms": n,
        "edges": e["dist"].numel(),
        "gpu": torch.cuda.get_device_name() if gpu else None,
        "ms": {},
        "error": {},
    }
    if gpu:
        from triton.testing import do_bench
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        run = packaged(dtype)
        results["error"][f"packaged {name}"] = error(run())
        if gpu:
            results["ms"][f"packaged {name}"] = do_bench(run, warmup=10, rep=100)
        print(
            f"packaged {name:22s} error {results['error'][f'packaged {name}']:.1e}"
            + (f"  {results['ms'][f'packaged {name}']:.3f} ms" if gpu else ""),
            flush=True,
        )

    s16, v16 = features["s"].half(), features["v"].half()
    for rank in (int(x) for x in args.ranks.split(",")):
        u_table, basis, fit = factorised(table, rank)
        u_table, basis = u_table.to(device), basis.to(device)
        for shape in args.shapes.split(","):
            be, chunk, warps = (int(x) for x in shape.split("x"))
            ds = torch.empty(n, hidden, device=device)
            dv = torch.empty(n, 3, hidden, device=device)

            # This iteration's values bound as defaults: run launches this shape wherever it runs.
            def run(
                u_table=u_table,
                basis=basis,
                ds=ds,
                dv=dv,
                rank=rank,
                chunk=chunk,
                be=be,
                warps=warps,
            ):
                _lowrank_forward_kernel[(n, hidden // chunk)](
                    s16,
                    v16,
                    e["dist"],
                    e["direction"],
                    e["src"],
                    e["perm_dst"],
                    e["rowptr_dst"],
                    u_table,
                    basis,
                    ds,
                    dv,
                    KNOTS=knots,
                    INV_H=knots / model.cutoff,
                    H=hidden,
                    R=rank,
                    C=chunk,
                    BE=be,
                    num_warps=warps,
                )
                return ds, dv

            key = f"rank {rank} shape {shape}"
            try:
                results["error"][key] = error(run())
                if gpu:
                    results["ms"][key] = do_bench(run, warmup=10, rep=100)
            except Exception as exc:  # a shape Triton cannot compile is a result too
                results["error"][key] = str(exc).strip().splitlines()[-1][:200]
                print(f"{key:30s} {results['error'][key]}", flush=True)
                continue
            print(
                f"{key:30s} error {results['error'][key]:.1e} (factorised knots {fit:.1e})"
                + (f"  {results['ms'][key]:.3f} ms" if gpu else ""),
                flush=True,
            )
            if not gpu:
                break
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
