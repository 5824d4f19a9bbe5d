"""The student through LAMMPS's own pair_style mliap unified (Kokkos), the peer interface, against
pair_style mlff/student: same model, same energies and forces. Skipped unless the set-up built
the LAMMPS with ML-IAP and PYTHON (MLFF_MLIAP=1), found beside ours or at MLFF_MLIAP_LMP."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import LMP, POTENTIALS, single_point
from mlff_student import load_checkpoint
from mlff_student.data.systems import molecular_box, molecules
from mlff_student.deploy.export import export_torchscript
from mlff_student.integrations.mliap import write

# The set-up's LAMMPS lives in <cache>/lammps-<version>-kokkos-<backend>/install/bin; the ML-IAP
# one beside it, its directory name ending in -mliap.
_beside = Path(LMP).resolve().parents[2] if len(Path(LMP).resolve().parents) > 2 else Path("/")
MLIAP_LMP = Path(os.environ.get("MLFF_MLIAP_LMP") or f"{_beside}-mliap/install/bin/lmp")
pytestmark = pytest.mark.skipif(
    not MLIAP_LMP.exists(), reason="no LAMMPS with ML-IAP (MLFF_MLIAP=1)"
)

ATOMS = molecular_box(molecules()["benzene"], 2, 0.87, seed=5, tilt=(0.1, 0.0, -0.05))
# A LAMMPS whose Kokkos was built for CUDA refuses to start without a GPU asked for.
WHERE = ["g", "1"] if os.environ.get("MLFF_KOKKOS_GPU") == "ON" else ["t", "1"]
KOKKOS = ["-k", "on", *WHERE, "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half"]


@pytest.mark.parametrize("nprocs", [1, 2])
def test_mliap_unified_equals_the_pair_style(nprocs, tmp_path):
    model = load_checkpoint(POTENTIALS / "student_gfn2.ckpt")
    write(model, tmp_path / "student.mliap.pt", ["C", "H"])
    export_torchscript(
        load_checkpoint(POTENTIALS / "student_gfn2.ckpt"), tmp_path / "student.pt", "float64"
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the embedded Python's
    # The buffer workaround integrations/mliap.py describes (without it LAMMPS's ML-IAP overruns its
    # communication buffers and crashes at exit).
    width = 4 * model.config.hidden_dim
    mliap = single_point(
        tmp_path / "mliap",
        ATOMS,
        ["C", "H"],
        None,
        nprocs=nprocs,
        args=KOKKOS,
        lmp=str(MLIAP_LMP),
        pair=f"fix mliap_comm all property/atom d2_mliap_comm {width} ghost yes\n"
        f"pair_style mliap unified {tmp_path / 'student.mliap.pt'} 0\n"
        "pair_coeff * * C H",
    )
    plain = single_point(tmp_path / "plain", ATOMS, ["C", "H"], tmp_path / "student.pt")
    assert mliap.energy == pytest.approx(plain.energy, rel=1e-10)
    np.testing.assert_allclose(mliap.forces, plain.forces, atol=1e-8)
    np.testing.assert_allclose(mliap.atom_energy, plain.atom_energy, atol=1e-8)
