"""The two operations through which a model run on one rank of several exchanges node features
with the other ranks, layer by layer.

A rank's graph holds its owned atoms and one cutoff of ghost atoms. Messages reach owned atoms
only, so after an interaction the ghosts' features lack the messages of their own neighbors:
before the next interaction, `ghost_features` replaces every ghost's row by its owner's (forward
communication). Its gradient, `ghost_gradients`, sums each ghost row's gradient onto its owner's
row and zeroes the ghost rows (reverse communication), so that the backward pass through every
interaction sees the gradient of the total energy of all ranks.

The model files call these operations by name; the LAMMPS plugin defines them again in C++ with
its communication behind them. Defined here, they leave the rows as they are (the right answer
for a graph without ghosts, and what tracing and the tests need), unless an engine that runs the
model from Python (LAMMPS's ML-IAP, integrations/mliap.py) has put its own communication behind
them for the duration of a call (`engine_exchange`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import Tensor

NAMESPACE = "mlff_student"

# (refresh, fold): each takes and returns the (s, v) rows, like the two operations.
Rows = tuple[Tensor, Tensor]
_engine: tuple[Callable[[Tensor, Tensor], Rows], Callable[[Tensor, Tensor], Rows]] | None = None


def _defined(name: str) -> bool:
    return hasattr(torch.ops, NAMESPACE) and hasattr(getattr(torch.ops, NAMESPACE), name)


def _copy_rows(s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    return s.clone(), v.clone()


def _refresh(s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    return _engine[0](s, v) if _engine else _copy_rows(s, v)


def _fold(s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    return _engine[1](s, v) if _engine else _copy_rows(s, v)


def _same_rows(s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    return torch.empty_like(s), torch.empty_like(v)


# A process that has loaded the LAMMPS plugin (the lammps Python module) has them already.
if not _defined("ghost_features"):
    ghost_gradients = torch.library.custom_op(
        f"{NAMESPACE}::ghost_gradients", _fold, mutates_args=()
    )
    ghost_gradients.register_fake(_same_rows)
    ghost_features = torch.library.custom_op(
        f"{NAMESPACE}::ghost_features", _refresh, mutates_args=()
    )
    ghost_features.register_fake(_same_rows)
    ghost_features.register_autograd(
        lambda ctx, grad_s, grad_v: torch.ops.mlff_student.ghost_gradients(grad_s, grad_v)
    )


def defined_here() -> bool:
    """Whether the operations are these Python ones (not the plugin's, loaded first)."""
    return "ghost_features" in globals()


@contextmanager
def engine_exchange(
    refresh: Callable[[Tensor, Tensor], Rows], fold: Callable[[Tensor, Tensor], Rows]
):
    """Within the block the two operations run refresh and fold: new (s, v) rows whose ghost rows
    are their owners' (refresh), or whose owner rows hold the ghosts' sums and ghost rows zero
    (fold)."""
    global _engine
    if not defined_here():
        raise RuntimeError(
            "the mlff_student ghost operations are the LAMMPS plugin's in this "
            "process: an engine's exchange cannot be put behind them"
        )
    _engine = (refresh, fold)
    try:
        yield
    finally:
        _engine = None
