"""The MLIAPUnified model (integrations/mliap.py) on the data LAMMPS's ML-IAP would give one rank
of a periodic box: owned atoms, one cutoff of ghost images, pairs into owned atoms only. The
exchanges are played here as LAMMPS plays them (forward: ghost rows become their owners';
reverse: ghost rows are summed onto their owners and zeroed), so the energy and forces must be
the periodic box's."""

import numpy as np
import pytest
import torch
from test_fused import SHIPPED

from mlff_student import load_checkpoint
from mlff_student.data.systems import molecular_box, molecules
from mlff_student.integrations.ase_calculator import edges_of, evaluate
from mlff_student.integrations.mliap import StudentMLIAP
from mlff_student.model import ghost_exchange


class FakeData:
    """ML-IAP's data for one rank holding every atom of a periodic box once, plus ghost images."""

    def __init__(self, atoms, cutoff, element_types):
        src, dst, shift = edges_of(atoms, cutoff)
        images = {}
        owner = list(range(len(atoms)))
        positions = list(atoms.positions)
        jatoms = []
        for j, s in zip(src, shift, strict=True):
            if not np.any(s):
                jatoms.append(j)
                continue
            key = (j, *np.round(s, 6))
            if key not in images:
                images[key] = len(owner)
                owner.append(j)
                positions.append(atoms.positions[j] + s)
            jatoms.append(images[key])
        self.nlocal, self.ntotal, self.npairs = len(atoms), len(owner), len(src)
        self.owner = np.array(owner)
        self.pair_i, self.pair_j = dst.astype(np.int32), np.array(jatoms, dtype=np.int32)
        positions = np.array(positions)
        self.rij = positions[self.pair_j] - positions[self.pair_i]
        symbols = np.array(atoms.get_chemical_symbols())[self.owner]
        self.elems = np.array([element_types.index(s) for s in symbols], dtype=np.int32)
        self.eatoms = np.zeros(self.nlocal)
        self.f = np.zeros((self.ntotal, 3))
        self.energy = None
        self.exchanges = 0

    def forward_exchange(self, copy_from, copy_to, vec_len):
        assert copy_from.shape == (self.ntotal, vec_len)
        copy_to.copy_(copy_from[torch.as_tensor(self.owner)])
        self.exchanges += 1

    def reverse_exchange(self, copy_from, copy_to, vec_len):
        summed = copy_from[: self.nlocal].clone()
        summed.index_add_(0, torch.as_tensor(self.owner[self.nlocal :]), copy_from[self.nlocal :])
        copy_to.zero_()
        copy_to[: self.nlocal] = summed
        self.exchanges += 1

    def update_pair_forces(self, fij):
        fij = np.asarray(fij)
        np.add.at(self.f, self.pair_i, fij)
        np.add.at(self.f, self.pair_j, -fij)

    def owner_forces(self):
        f = self.f[: self.nlocal].copy()
        np.add.at(f, self.owner[self.nlocal :], self.f[self.nlocal :])
        return f


def test_mliap_model_gives_the_periodic_box():
    model = load_checkpoint(SHIPPED)
    atoms = molecular_box(molecules()["benzene"], 2, 0.87, seed=5, tilt=(0.1, 0.0, -0.05))
    data = FakeData(atoms, model.cutoff, ["C", "H"])
    assert data.ntotal > data.nlocal  # ghost images carry the messages across the box's faces
    StudentMLIAP(model, ["C", "H"]).compute_forces(data)
    ref = evaluate(load_checkpoint(SHIPPED), atoms)
    assert data.energy == pytest.approx(ref["energy"], rel=1e-12)
    np.testing.assert_allclose(data.eatoms, ref["energies"], atol=1e-10)
    np.testing.assert_allclose(data.owner_forces(), ref["forces"], atol=1e-10)
    assert data.exchanges == 2 * (len(model.interactions) - 1)
    assert ghost_exchange._engine is None  # the model's ghost operations are plain again


class DataWithoutCupy(FakeData):
    """What ML-IAP's Kokkos coupling gives on a GPU when the embedded Python has no CuPy: its
    device arrays are made with cupy, which its module imported only if it could."""

    @property
    def rij(self):
        raise NameError("name 'cupy' is not defined")

    @rij.setter
    def rij(self, value):
        pass


def test_mliap_model_says_to_install_cupy_where_kokkos_needs_it():
    model = load_checkpoint(SHIPPED)
    atoms = molecules()["benzene"]
    data = DataWithoutCupy(atoms, model.cutoff, ["C", "H"])
    with pytest.raises(RuntimeError, match="pip install cupy-cuda"):
        StudentMLIAP(model, ["C", "H"]).compute_forces(data)
