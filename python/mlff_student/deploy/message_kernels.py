"""Fused message passing for compiled GPU packages: one Triton kernel per direction that reads
the filters from their tables (filter_tables.py), so that no per-edge feature tensor ([E, H] or
larger) is ever written to memory.

Forward: one program per destination node (edges sorted by dst) sums its messages in registers.
Backward: one program per source node (edges sorted by src) sums the gradients of its features
and writes each out-edge's dE/dd and dE/d(direction); the filter is read again, not stored.
Memory per edge is therefore a few scalars, which is what lets a million atoms fit on one GPU.

`tabulated_copy` gives the model these kernels: a copy whose interactions' message modules are
`TabulatedMessage`s, so that the model's own loop over interactions runs them. The per-graph
inputs they share (edge lengths, directions, edges grouped by dst and by src) are made once per
graph by `TabulatedMessage.edge_inputs`.

Their arithmetic is float32 (sums accumulate in registers, messages are written as float32), but
what they read per edge may be 16-bit: fp16 and bf16 packages hand them node features, their
gradients and the filter tables in the package's 16-bit type (`feature_dtype`), which halves the
bytes each edge reads; float32 packages read float32. They run wherever Triton runs: on CUDA, and
on the CPU under TRITON_INTERPRET=1, which is how the tests without a GPU check them.
"""

from __future__ import annotations

import copy
import os

import torch
import triton
import triton.language as tl
from torch import nn
from torch.library import triton_op, wrap_triton

from ..model.student import GaussianRBF, StudentForceField
from .filter_tables import DEFAULT_KNOTS, tabulate

# Edges per step of a node's loop and warps per node, by the type of the filter tables: measured
# fastest on an H200 (bench/notes/message_sweep.py, the 96,000-atom box): 8 edges on 2 warps for
# float32; for 16-bit tables 16 edges, whose rows then load in wider pieces (5 % faster than 8).
LAUNCH_SHAPES = {torch.float32: (8, 2), torch.float16: (16, 2), torch.bfloat16: (16, 2)}
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def _edge_block(
    k0,
    end,
    perm_ptr,
    dist_ptr,
    node_ptr,
    dir_ptr,
    ch_ok,
    KNOTS: tl.constexpr,
    INV_H: tl.constexpr,
    BE: tl.constexpr,
):
    """Edges k0 .. k0 + BE of a node's row (those below end are valid): the node at each edge's
    other end, its direction components ([BE] each), its table interval, position t in it and
    the factor 1/h of the slope ([BE, 1]; the slope is zero at and beyond the cutoff, where the
    filter is constant), and the [BE, HP] mask of feature loads. Invalid lanes load zero
    coefficients, so their filters vanish."""
    k = k0 + tl.arange(0, BE)
    valid = k < end
    e = tl.load(perm_ptr + k, mask=valid, other=0)
    d = tl.load(dist_ptr + e, mask=valid, other=0.0)
    other = tl.load(node_ptr + e, mask=valid, other=0)
    dx = tl.load(dir_ptr + e * 3, mask=valid, other=0.0)
    dy = tl.load(dir_ptr + e * 3 + 1, mask=valid, other=0.0)
    dz = tl.load(dir_ptr + e * 3 + 2, mask=valid, other=0.0)
    x = tl.minimum(d.to(tl.float32) * INV_H, KNOTS * 1.0)
    i = tl.minimum(x.to(tl.int32), KNOTS - 1)
    t = x - i.to(tl.float32)
    slope = tl.where(x < KNOTS * 1.0, INV_H, 0.0).to(tl.float32)
    mask = valid[:, None] & ch_ok[None, :]
    return e, valid, other, dx, dy, dz, i.to(tl.int64), t[:, None], slope[:, None], mask


@triton.jit
def _store_node(s_ptr, v_ptr, node, acc_s, acc_x, acc_y, acc_z, ch, ch_ok, H: tl.constexpr):
    """Row node of an [N, H] and an [N, 3, H] tensor."""
    tl.store(s_ptr + node * H + ch, acc_s, mask=ch_ok)
    out = v_ptr + node * (3 * H) + ch
    tl.store(out, acc_x, mask=ch_ok)
    tl.store(out + H, acc_y, mask=ch_ok)
    tl.store(out + 2 * H, acc_z, mask=ch_ok)


@triton.jit
def _load(ptr, mask):
    """Features, their gradients and table entries are stored in 32 or 16 bits, used in 32."""
    return tl.load(ptr, mask=mask, other=0.0).to(tl.float32)


@triton.jit
def _coefficients(table_ptr, i, offset, ch, mask, H: tl.constexpr):
    """The cubic's coefficients for channels offset + ch of each edge's interval: [BE, HP]."""
    row = table_ptr + i[:, None] * (12 * H) + offset + ch[None, :]
    a = _load(row, mask)
    b = _load(row + 3 * H, mask)
    c = _load(row + 6 * H, mask)
    e = _load(row + 9 * H, mask)
    return a, b, c, e


@triton.jit
def _filter(table_ptr, i, t, offset, ch, mask, H: tl.constexpr):
    a, b, c, e = _coefficients(table_ptr, i, offset, ch, mask, H)
    return a + t * (b + t * (c + t * e))


@triton.jit
def _filter_and_slope(table_ptr, i, t, slope, offset, ch, mask, H: tl.constexpr):
    a, b, c, e = _coefficients(table_ptr, i, offset, ch, mask, H)
    return a + t * (b + t * (c + t * e)), slope * (b + t * (2.0 * c + 3.0 * t * e))


@triton.jit
def _node_row(rowptr_ptr, H: tl.constexpr, HP: tl.constexpr):
    """This program's node, the first and end of its row of edges, its channels and their mask."""
    node = tl.program_id(0).to(tl.int64)
    start = tl.load(rowptr_ptr + node)
    end = tl.load(rowptr_ptr + node + 1)
    ch = tl.arange(0, HP)
    return node, start, end, ch, ch < H


@triton.jit
def _message_forward_kernel(
    s_ptr,
    v_ptr,
    dist_ptr,
    dir_ptr,
    src_ptr,
    perm_ptr,
    rowptr_ptr,
    table_ptr,
    ds_ptr,
    dv_ptr,
    KNOTS: tl.constexpr,
    INV_H: tl.constexpr,
    H: tl.constexpr,
    HP: tl.constexpr,
    BE: tl.constexpr,
):
    node, start, end, ch, ch_ok = _node_row(rowptr_ptr, H, HP)  # the destination: its in-edges
    acc_s = tl.zeros([HP], dtype=tl.float32)
    acc_x = tl.zeros([HP], dtype=tl.float32)
    acc_y = tl.zeros([HP], dtype=tl.float32)
    acc_z = tl.zeros([HP], dtype=tl.float32)
    k0 = start
    while k0 < end:  # a while loop: the interpreter cannot take loaded bounds in range()
        _, _, j, dx, dy, dz, i, t, _, mask = _edge_block(
            k0, end, perm_ptr, dist_ptr, src_ptr, dir_ptr, ch_ok, KNOTS, INV_H, BE
        )
        k0 += BE

        phi_s = _filter(table_ptr, i, t, 0, ch, mask, H)
        s_j = _load(s_ptr + j[:, None] * H + ch[None, :], mask)
        acc_s += tl.sum(phi_s * s_j, axis=0)

        phi_v1 = _filter(table_ptr, i, t, H, ch, mask, H)
        phi_v2 = _filter(table_ptr, i, t, 2 * H, ch, mask, H)
        v_j = v_ptr + j[:, None] * (3 * H) + ch[None, :]
        acc_x += tl.sum(phi_v1 * _load(v_j, mask) + dx[:, None] * phi_v2, axis=0)
        acc_y += tl.sum(phi_v1 * _load(v_j + H, mask) + dy[:, None] * phi_v2, axis=0)
        acc_z += tl.sum(phi_v1 * _load(v_j + 2 * H, mask) + dz[:, None] * phi_v2, axis=0)
    _store_node(ds_ptr, dv_ptr, node, acc_s, acc_x, acc_y, acc_z, ch, ch_ok, H)


@triton.jit
def _message_backward_kernel(
    gs_ptr,
    gv_ptr,
    s_ptr,
    v_ptr,
    dist_ptr,
    dir_ptr,
    dst_ptr,
    perm_ptr,
    rowptr_ptr,
    table_ptr,
    grad_s_ptr,
    grad_v_ptr,
    grad_dist_ptr,
    grad_dir_ptr,
    KNOTS: tl.constexpr,
    INV_H: tl.constexpr,
    H: tl.constexpr,
    HP: tl.constexpr,
    BE: tl.constexpr,
):
    node, start, end, ch, ch_ok = _node_row(rowptr_ptr, H, HP)  # the source: its out-edges
    s_j = _load(s_ptr + node * H + ch, ch_ok)[None, :]
    v_j = v_ptr + node * (3 * H) + ch
    vx = _load(v_j, ch_ok)[None, :]
    vy = _load(v_j + H, ch_ok)[None, :]
    vz = _load(v_j + 2 * H, ch_ok)[None, :]
    acc_s = tl.zeros([HP], dtype=tl.float32)
    acc_x = tl.zeros([HP], dtype=tl.float32)
    acc_y = tl.zeros([HP], dtype=tl.float32)
    acc_z = tl.zeros([HP], dtype=tl.float32)
    k0 = start
    while k0 < end:  # a while loop: the interpreter cannot take loaded bounds in range()
        e, valid, i_dst, dx, dy, dz, i, t, slope, mask = _edge_block(
            k0, end, perm_ptr, dist_ptr, dst_ptr, dir_ptr, ch_ok, KNOTS, INV_H, BE
        )
        k0 += BE

        phi_s, dphi_s = _filter_and_slope(table_ptr, i, t, slope, 0, ch, mask, H)
        gs = _load(gs_ptr + i_dst[:, None] * H + ch[None, :], mask)
        acc_s += tl.sum(gs * phi_s, axis=0)
        g_dist = tl.sum(gs * s_j * dphi_s, axis=1)

        phi_v1, dphi_v1 = _filter_and_slope(table_ptr, i, t, slope, H, ch, mask, H)
        phi_v2, dphi_v2 = _filter_and_slope(table_ptr, i, t, slope, 2 * H, ch, mask, H)
        gv = gv_ptr + i_dst[:, None] * (3 * H) + ch[None, :]

        g = _load(gv, mask)
        acc_x += tl.sum(g * phi_v1, axis=0)
        g_dist += tl.sum(g * (vx * dphi_v1 + dx[:, None] * dphi_v2), axis=1)
        tl.store(grad_dir_ptr + e * 3, tl.sum(g * phi_v2, axis=1), mask=valid)
        g = _load(gv + H, mask)
        acc_y += tl.sum(g * phi_v1, axis=0)
        g_dist += tl.sum(g * (vy * dphi_v1 + dy[:, None] * dphi_v2), axis=1)
        tl.store(grad_dir_ptr + e * 3 + 1, tl.sum(g * phi_v2, axis=1), mask=valid)
        g = _load(gv + 2 * H, mask)
        acc_z += tl.sum(g * phi_v1, axis=0)
        g_dist += tl.sum(g * (vz * dphi_v1 + dz[:, None] * dphi_v2), axis=1)
        tl.store(grad_dir_ptr + e * 3 + 2, tl.sum(g * phi_v2, axis=1), mask=valid)
        tl.store(grad_dist_ptr + e, g_dist, mask=valid)
    _store_node(grad_s_ptr, grad_v_ptr, node, acc_s, acc_x, acc_y, acc_z, ch, ch_ok, H)


def _launcher(kernel):
    # The interpreter's kernels are plain Python functions, which wrap_triton does not take;
    # they are only ever run eagerly.
    return kernel if INTERPRETED else wrap_triton(kernel)


FEATURE_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _check_inputs(features, *tensors: torch.Tensor):
    """The kernels index raw memory: every input must be contiguous; features (and their
    gradients) and the table float32 or 16-bit, the edge inputs float32."""
    for x in features:
        if not x.is_contiguous() or x.dtype not in FEATURE_DTYPES:
            raise ValueError(
                "fused message kernels take contiguous float32, float16 or "
                "bfloat16 features and tables"
            )
    for x in tensors:
        if not x.is_contiguous() or (x.is_floating_point() and x.dtype != torch.float32):
            raise ValueError("fused message kernels take contiguous float32 edge tensors")


def _launch_sizes(table: torch.Tensor, cutoff: float):
    knots = table.shape[0]
    hidden = table.shape[2] // 3
    return knots, hidden, triton.next_power_of_2(hidden), knots / cutoff


@triton_op("mlff_student::message", mutates_args=())
def message(
    s: torch.Tensor,
    v: torch.Tensor,
    dist: torch.Tensor,
    direction: torch.Tensor,
    src: torch.Tensor,
    dst: torch.Tensor,
    perm_dst: torch.Tensor,
    rowptr_dst: torch.Tensor,
    perm_src: torch.Tensor,
    rowptr_src: torch.Tensor,
    table: torch.Tensor,
    cutoff: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(ds, dv): the summed messages into every node, [N, H] and [N, 3, H], in float32."""
    _check_inputs((s, v, table), dist, direction, src, dst, perm_dst, rowptr_dst)
    knots, hidden, hp, inv_h = _launch_sizes(table, cutoff)
    block, warps = LAUNCH_SHAPES[table.dtype]
    ds = torch.empty_like(s, dtype=torch.float32)
    dv = torch.empty_like(v, dtype=torch.float32)
    _launcher(_message_forward_kernel)[(s.shape[0],)](
        s,
        v,
        dist,
        direction,
        src,
        perm_dst,
        rowptr_dst,
        table,
        ds,
        dv,
        KNOTS=knots,
        INV_H=inv_h,
        H=hidden,
        HP=hp,
        BE=block,
        num_warps=warps,
    )
    return ds, dv


@triton_op("mlff_student::message_backward", mutates_args=())
def message_backward(
    grad_ds: torch.Tensor,
    grad_dv: torch.Tensor,
    s: torch.Tensor,
    v: torch.Tensor,
    dist: torch.Tensor,
    direction: torch.Tensor,
    dst: torch.Tensor,
    perm_src: torch.Tensor,
    rowptr_src: torch.Tensor,
    table: torch.Tensor,
    cutoff: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    _check_inputs((grad_ds, grad_dv, s, v, table), dist, direction, dst, perm_src, rowptr_src)
    knots, hidden, hp, inv_h = _launch_sizes(table, cutoff)
    block, warps = LAUNCH_SHAPES[table.dtype]
    grad_s = torch.empty_like(s)
    grad_v = torch.empty_like(v)
    grad_dist = torch.empty_like(dist)
    grad_dir = torch.empty_like(direction)
    _launcher(_message_backward_kernel)[(s.shape[0],)](
        grad_ds,
        grad_dv,
        s,
        v,
        dist,
        direction,
        dst,
        perm_src,
        rowptr_src,
        table,
        grad_s,
        grad_v,
        grad_dist,
        grad_dir,
        KNOTS=knots,
        INV_H=inv_h,
        H=hidden,
        HP=hp,
        BE=block,
        num_warps=warps,
    )
    return grad_s, grad_v, grad_dist, grad_dir


def _setup_context(ctx, inputs, output):
    s, v, dist, direction, src, dst, perm_dst, rowptr_dst, perm_src, rowptr_src, table, cutoff = (
        inputs
    )
    ctx.save_for_backward(s, v, dist, direction, dst, perm_src, rowptr_src, table)
    ctx.cutoff = cutoff


def _backward(ctx, grad_ds, grad_dv):
    s, v, dist, direction, dst, perm_src, rowptr_src, table = ctx.saved_tensors
    # The gradients are read per edge like the features, so in the features' type.
    grad_s, grad_v, grad_dist, grad_dir = message_backward(
        grad_ds.to(s.dtype).contiguous(),
        grad_dv.to(s.dtype).contiguous(),
        s,
        v,
        dist,
        direction,
        dst,
        perm_src,
        rowptr_src,
        table,
        ctx.cutoff,
    )
    return grad_s, grad_v, grad_dist, grad_dir, None, None, None, None, None, None, None, None


message.register_autograd(_backward, setup_context=_setup_context)


def csr(index: torch.Tensor, num_nodes: int):
    """Edges grouped by index: the permutation that sorts them, and each node's row offsets."""
    sorted_index, perm = torch.sort(index, stable=True)
    rowptr = torch.searchsorted(
        sorted_index, torch.arange(num_nodes + 1, device=index.device, dtype=index.dtype)
    )
    return perm, rowptr


class TabulatedMessage(nn.Module):
    """An interaction's MessageBlock with its filter read from `table` (filter_tables.tabulate)
    by the fused kernels, which read node features in feature_dtype."""

    def __init__(
        self, table: torch.Tensor, cutoff: float, feature_dtype: torch.dtype = torch.float32
    ):
        super().__init__()
        self.register_buffer("table", table)
        self.cutoff = cutoff
        self.feature_dtype = feature_dtype

    def edge_inputs(
        self,
        d: torch.Tensor,
        direction: torch.Tensor,
        src: torch.Tensor,
        dst: torch.Tensor,
        num_nodes: int,
        rbf: GaussianRBF,
    ) -> dict[str, torch.Tensor]:
        """The kernels' per-edge inputs: no radial basis (the table replaces it), and the edges
        grouped by dst (forward) and by src (backward)."""
        perm_dst, rowptr_dst = csr(dst, num_nodes)
        perm_src, rowptr_src = csr(src, num_nodes)
        return {
            "dist": d,
            "direction": direction.contiguous(),
            "src": src.contiguous(),
            "dst": dst.contiguous(),
            "perm_dst": perm_dst,
            "rowptr_dst": rowptr_dst,
            "perm_src": perm_src,
            "rowptr_src": rowptr_src,
        }

    def forward(self, s, v, edges: dict[str, torch.Tensor]):
        fd = self.feature_dtype
        ds, dv = message(
            s.to(fd).contiguous(),
            v.to(fd).contiguous(),
            edges["dist"],
            edges["direction"],
            edges["src"],
            edges["dst"],
            edges["perm_dst"],
            edges["rowptr_dst"],
            edges["perm_src"],
            edges["rowptr_src"],
            self.table,
            self.cutoff,
        )
        return s + ds, v + dv


def tabulated_copy(
    model: StudentForceField,
    knots: int = DEFAULT_KNOTS,
    feature_dtype: torch.dtype = torch.float32,
    table_dtype: torch.dtype | None = None,
) -> StudentForceField:
    """A copy of model, on its device, whose message steps are the fused kernels with
    `knots`-interval filter tables (in table_dtype, by default feature_dtype), reading node
    features in feature_dtype."""
    device = model.atom_reference.device
    tabulated = copy.deepcopy(model)
    for block, table in zip(tabulated.interactions, tabulate(model, knots), strict=True):
        table = table.to(device, table_dtype or feature_dtype)
        block.message = TabulatedMessage(table, model.cutoff, feature_dtype)
    return tabulated
