"""Reference energies, forces and virials of a student model for an ASE Atoms object.

Periodic images come from ASE's neighbor list, so the graph is the same one LAMMPS builds from
its ghost atoms. Everything runs in float64 unless told otherwise.
"""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list

from ..model.student import StudentForceField


def edges_of(atoms, cutoff: float):
    """(src, dst, shift): edge src -> dst with vector pos[src] + shift - pos[dst], |.| <= cutoff."""
    dst, src, shift = neighbor_list("ijS", atoms, cutoff, self_interaction=False)
    shift_vec = shift @ np.asarray(atoms.cell)
    # ASE keeps pairs with d < cutoff; the model's rule is d <= cutoff, equal for real structures.
    return src, dst, shift_vec


def evaluate(model: StudentForceField, atoms, dtype=torch.float64):
    """Energy (eV), per-atom energies, forces (eV/Å), virial (eV, xx yy zz xy xz yz) and per-atom
    centroid virials (eV, [N, 9]: xx yy zz xy xz yz yx zx zy; half of each edge's -r (x) g to
    either end)."""
    model = model.to(dtype)
    src, dst, shift = edges_of(atoms, model.cutoff)
    pos = torch.tensor(atoms.positions, dtype=dtype, requires_grad=True)
    z = torch.tensor(atoms.numbers, dtype=torch.long)
    src_t, dst_t = torch.as_tensor(src, dtype=torch.long), torch.as_tensor(dst, dtype=torch.long)
    edge_vec = pos[src_t] + torch.tensor(shift, dtype=dtype) - pos[dst_t]
    node_energy = model.node_energies(z, src_t, dst_t, edge_vec)
    energy = node_energy.sum()
    grad_pos, grad_vec = torch.autograd.grad(energy, [pos, edge_vec], retain_graph=False)
    r = edge_vec.detach().double()
    edge_w = -(r.unsqueeze(2) * grad_vec.double().unsqueeze(1))
    w = edge_w.sum(0)
    virial = np.array([w[0, 0], w[1, 1], w[2, 2], w[0, 1], w[0, 2], w[1, 2]]).astype(float)
    order = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]
    per_edge = torch.stack([edge_w[:, a, b] for a, b in order], dim=1)
    atom_virial = torch.zeros(len(atoms), 9, dtype=torch.float64)
    atom_virial.index_add_(0, src_t, 0.5 * per_edge).index_add_(0, dst_t, 0.5 * per_edge)
    return {
        "energy": float(energy.detach()),
        "energies": node_energy.detach().double().numpy(),
        "forces": -grad_pos.double().numpy(),
        "virial": virial,
        "centroid_virials": atom_virial.numpy(),
    }


class StudentCalculator(Calculator):
    """ASE calculator running the student model (used for reference MD)."""

    implemented_properties = ["energy", "energies", "forces", "stress"]

    def __init__(self, model: StudentForceField, dtype=torch.float64, **kwargs):
        super().__init__(**kwargs)
        self.model = model.to(dtype).eval()
        self.dtype = dtype

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        out = evaluate(self.model, self.atoms, self.dtype)
        self.results["energy"] = out["energy"]
        self.results["energies"] = out["energies"]
        self.results["forces"] = out["forces"]
        if self.atoms.cell.rank == 3:
            v = out["virial"]
            # ASE stress = -virial / volume, Voigt order xx yy zz yz xz xy.
            self.results["stress"] = (
                -np.array([v[0], v[1], v[2], v[5], v[4], v[3]]) / self.atoms.get_volume()
            )
