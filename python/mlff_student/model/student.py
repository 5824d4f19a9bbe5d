"""The MLFF-Distiller student architecture (``StudentForceField``), parameter for parameter.

Parameter and buffer names match the original checkpoints, so a ``model_state_dict`` loads
unchanged. The energy is written over an explicit edge list so that the same code serves the
molecule reference (all pairs within the cutoff) and periodic or domain-decomposed graphs
(edges from a neighbor list, with edge vectors of periodic images).

Additions, all neutral for the original checkpoints: per-element reference energies added to
each atom's energy (zero unless a model was trained with them); ``mixing="channel"``, which mixes
the vector features over channels instead of Cartesian axes and so keeps the energy invariant
under rotations (the original's ``"cartesian"`` mixing does not); and ``smooth_cutoff``. The
original multiplies the radial basis by the cosine envelope *before* the filter MLP, whose biases
then give a pair at the cutoff a non-zero message: the energy jumps (0.2-0.7 eV for the seed's
427K model) whenever a pair crosses the cutoff, which heats MD. ``smooth_cutoff`` also multiplies
the filter's output by the envelope, so messages vanish continuously at the cutoff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from ase.data import atomic_numbers
from torch import nn

from . import ghost_exchange  # noqa: F401  (defines torch.ops.mlff_student.ghost_features)


@dataclass
class StudentConfig:
    hidden_dim: int = 128
    num_interactions: int = 3
    num_rbf: int = 20
    cutoff: float = 5.0
    max_z: int = 100
    mixing: str = "cartesian"  # or "channel"
    smooth_cutoff: bool = False
    # Chemical symbols of the elements the model was trained on (empty: not recorded, as for the
    # original checkpoints). Model files carry them, and LAMMPS warns about others.
    elements: tuple = ()

    def __post_init__(self):
        """Refuses what pair_style mlff/student would refuse in a model file, and what would
        fail only later, in training or in LAMMPS."""
        if self.mixing not in MIXINGS:
            raise ValueError(f"mixing must be one of {MIXINGS}, not {self.mixing!r}")
        if not (math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ValueError(f"cutoff must be a positive, finite distance (Å), not {self.cutoff}")
        # hidden_dim: the energy head narrows the features to hidden_dim // 4.
        least = {"hidden_dim": 4, "num_interactions": 1, "num_rbf": 1, "max_z": 1}
        for name, value in least.items():
            if getattr(self, name) < value:
                raise ValueError(f"{name} must be at least {value}, not {getattr(self, name)}")
        for symbol in self.elements:
            z = element_number(symbol)
            if z > self.max_z:
                raise ValueError(
                    f"element {symbol} (Z = {z}) is outside the model's table, which ends at "
                    f"Z = {self.max_z}"
                )


def element_number(symbol) -> int:
    """The atomic number of a chemical symbol (ValueError for anything else)."""
    z = atomic_numbers.get(symbol) if isinstance(symbol, str) else None
    if not z:  # ASE's "X" (Z = 0) is a placeholder, not an element
        raise ValueError(f"{symbol!r} is not a chemical element (give symbols such as C, H, Cl)")
    return z


MIXINGS = ("cartesian", "channel")


class GaussianRBF(nn.Module):
    """Gaussians on linspace(0, rc, K) with width rc/K, and the cosine cutoff they are multiplied
    by."""

    def __init__(self, num_rbf: int, cutoff: float):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("centers", torch.linspace(0.0, cutoff, num_rbf))
        self.register_buffer("widths", torch.full((num_rbf,), cutoff / num_rbf))

    def envelope(self, d: torch.Tensor) -> torch.Tensor:
        envelope = 0.5 * (torch.cos(math.pi * d / self.cutoff) + 1.0)
        return torch.where(d < self.cutoff, envelope, torch.zeros_like(envelope))

    def gaussians(self, d: torch.Tensor) -> torch.Tensor:
        return torch.exp(-((d.unsqueeze(-1) - self.centers) ** 2) / self.widths**2)

    @torch.jit.export  # TorchScript compiles no methods of a module passed as an argument
    def basis(self, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the cut radial basis [.., K], the envelope [..])"""
        envelope = self.envelope(d)
        return self.gaussians(d) * envelope.unsqueeze(-1), envelope


class MessageBlock(nn.Module):
    """Messages src -> dst: each edge's filter phi(d) weighs its source's features and its
    direction. The per-edge inputs it reads come from edge_inputs, computed once per graph and
    shared by every interaction; a message module of another kind (the fused kernels' tabulated
    one) takes its own per-edge inputs the same way, so that the model's loop serves both."""

    __constants__ = ["smooth"]

    def __init__(self, hidden_dim: int, num_rbf: int, smooth: bool = False):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.smooth = smooth
        self.rbf_to_scalar = nn.Sequential(
            nn.Linear(num_rbf, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, 3 * hidden_dim)
        )

    def filter(self, rbf: torch.Tensor, envelope: torch.Tensor) -> torch.Tensor:
        """phi [.., 3H] of each edge: a function of the edge length only."""
        phi = self.rbf_to_scalar(rbf)
        if self.smooth:
            phi = phi * envelope.unsqueeze(-1)
        return phi

    def edge_inputs(
        self,
        d: torch.Tensor,
        direction: torch.Tensor,
        src: torch.Tensor,
        dst: torch.Tensor,
        num_nodes: int,
        rbf: GaussianRBF,
    ) -> dict[str, torch.Tensor]:
        """What forward reads of each edge, from its length d and unit direction."""
        basis, envelope = rbf.basis(d)
        return {"rbf": basis, "envelope": envelope, "direction": direction, "src": src, "dst": dst}

    def forward(self, s, v, edges: dict[str, torch.Tensor]):
        src, dst, direction = edges["src"], edges["dst"], edges["direction"]
        phi_s, phi_v1, phi_v2 = torch.split(
            self.filter(edges["rbf"], edges["envelope"]), self.hidden_dim, dim=-1
        )
        ds = torch.zeros_like(s).index_add(0, dst, s[src] * phi_s)
        dv_edge = v[src] * phi_v1.unsqueeze(1) + direction.unsqueeze(2) * phi_v2.unsqueeze(1)
        dv = torch.zeros_like(v).index_add(0, dst, dv_edge)
        return s + ds, v + dv


class UpdateBlock(nn.Module):
    __constants__ = ["channel"]  # so that TorchScript compiles only the branch in use

    def __init__(self, hidden_dim: int, mixing: str = "cartesian"):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.channel = mixing == "channel"
        self.update_mlp = nn.Sequential(
            nn.Linear(2 * hidden_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, 3 * hidden_dim)
        )
        if self.channel:  # acts on the feature channels of v, which commutes with rotations
            self.channel_mixing = nn.Parameter(torch.eye(hidden_dim))
        else:  # acts on the Cartesian axis of v: this is what breaks rotation invariance
            self.mixing_matrix = nn.Parameter(torch.eye(3))

    def forward(self, s, v):
        v_norm = torch.linalg.vector_norm(v, dim=1)
        ds, g1, g2 = torch.split(
            self.update_mlp(torch.cat([s, v_norm], dim=-1)), self.hidden_dim, dim=-1
        )
        if self.channel:
            mixed = torch.matmul(v, self.channel_mixing)
        else:
            mixed = torch.einsum("ij,njk->nik", self.mixing_matrix, v)
        return s + ds, v * g1.unsqueeze(1) + mixed * g2.unsqueeze(1)


class InteractionBlock(nn.Module):
    def __init__(
        self, hidden_dim: int, num_rbf: int, mixing: str = "cartesian", smooth: bool = False
    ):
        super().__init__()
        self.message = MessageBlock(hidden_dim, num_rbf, smooth)
        self.update = UpdateBlock(hidden_dim, mixing)

    def forward(self, s, v, edges: dict[str, torch.Tensor]):
        s, v = self.message(s, v, edges)
        return self.update(s, v)


class StudentForceField(nn.Module):
    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = config or StudentConfig()
        c = self.config
        self.cutoff = float(c.cutoff)
        self.embedding = nn.Embedding(c.max_z + 1, c.hidden_dim)
        self.rbf = GaussianRBF(c.num_rbf, c.cutoff)
        self.interactions = nn.ModuleList(
            [
                InteractionBlock(c.hidden_dim, c.num_rbf, c.mixing, c.smooth_cutoff)
                for _ in range(c.num_interactions)
            ]
        )
        self.energy_head = nn.Sequential(
            nn.Linear(c.hidden_dim, c.hidden_dim // 2),
            nn.SiLU(),
            nn.Linear(c.hidden_dim // 2, c.hidden_dim // 4),
            nn.SiLU(),
            nn.Linear(c.hidden_dim // 4, 1),
        )
        # eV per atom of each element, added to the readout.
        self.register_buffer("atom_reference", torch.zeros(c.max_z + 1))

    def node_energies(
        self, z: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, edge_vec: torch.Tensor
    ) -> torch.Tensor:
        """Per-node energies (eV) of a graph; edge_vec = pos[src] - pos[dst] (Å)."""
        return self.readout(z, self.features(z, src, dst, edge_vec))

    # Exported: deploy/export.py's energy_and_edge_gradient calls them through an interface, and
    # TorchScript compiles no methods of a module passed as an argument.
    @torch.jit.export
    def features(
        self,
        z: torch.Tensor,
        src: torch.Tensor,
        dst: torch.Tensor,
        edge_vec: torch.Tensor,
        exchange: bool = False,
    ) -> torch.Tensor:
        """Scalar node features after the last interaction. exchange: the graph is one rank's,
        with one cutoff of ghost nodes whose features are refreshed from their owners before
        every interaction but the first (ghost_exchange.py)."""
        s = self.embedding(z)
        v = s.new_zeros((s.shape[0], 3, s.shape[1]))
        d = torch.linalg.vector_norm(edge_vec, dim=-1)
        direction = edge_vec / (d.unsqueeze(-1) + 1e-8)
        # Every interaction's message module is of one kind, which says what it reads per edge.
        edges = self.interactions[0].message.edge_inputs(
            d, direction, src, dst, s.shape[0], self.rbf
        )
        for layer, block in enumerate(self.interactions):
            if exchange and layer > 0:
                s, v = torch.ops.mlff_student.ghost_features(s, v)
            s, v = block(s, v, edges)
        return s

    @torch.jit.export
    def readout(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.energy_head(s).squeeze(-1) + self.atom_reference[z]

    @torch.jit.unused
    def forward(self, atomic_numbers: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Total energy of one molecule without periodic images, as the original computes it."""
        src, dst = all_pairs_within(positions, self.cutoff)
        edge_vec = positions[src] - positions[dst]
        return self.node_energies(atomic_numbers, src, dst, edge_vec).sum()


def all_pairs_within(positions: torch.Tensor, cutoff: float):
    """Every ordered pair (src, dst), src != dst, with |pos[src] - pos[dst]| <= cutoff."""
    with torch.no_grad():
        dist = torch.cdist(positions, positions)
        mask = dist <= cutoff
        mask.fill_diagonal_(False)
        src, dst = torch.nonzero(mask, as_tuple=True)
    return src, dst
