"""1, 2 and 4 MPI ranks and newton on/off give the same energies, forces and virials, with ghost
features exchanged layer by layer (the default on several ranks), through LAMMPS's communication or
directly between owner and ghost ranks, and with the deep ghost shell."""

import numpy as np
import pytest

from harness import elements_of, model_file, single_point
from mlff_student.data.systems import molecular_box, molecules

BENZENE = molecules()["benzene"]
SYSTEMS = {
    # 8 molecules in an 11 Å triclinic box: on 4 ranks the ghost shell (interactions x cutoff)
    # holds several periodic images of every atom. The 2-interaction model keeps it small.
    "benzene_box": molecular_box(BENZENE, 2, 0.87, seed=5, tilt=(0.1, 0.0, -0.05)),
    # A molecule in one corner of a large open box: most subdomains hold no atom.
    "molecule_in_corner": molecules()["loratadine"],
}
MODEL = {"benzene_box": "seedarch_77k", "molecule_in_corner": "seedarch_427k"}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = {}
    for name, atoms in SYSTEMS.items():
        out[name] = single_point(
            tmp_path_factory.mktemp(name),
            atoms,
            elements_of(atoms),
            model_file(MODEL[name]),
            extra=extra_for(name),
        )
    return out


def extra_for(name: str) -> str:
    # Stretch the open box so that the molecule sits in the first of 4 slabs along x.
    return "change_box all x final -10 120 units box\n" if name == "molecule_in_corner" else ""


def pre_for(name: str, nprocs: int) -> str:
    return f"processors {nprocs} 1 1" if name == "molecule_in_corner" else ""


def pair_for(name: str, atoms, ghosts: str, model=None) -> str:
    model = model or model_file(MODEL[name])
    return f"pair_style mlff/student ghosts {ghosts}\npair_coeff * * {model} " + " ".join(
        elements_of(atoms)
    )


# On one rank, ghosts exchange and deep make every ghost (all periodic images of the rank's own
# atoms) a graph node instead of folding it onto its owner.
@pytest.mark.parametrize("ghosts", ["exchange", "exchange exchange_comm direct", "deep"])
@pytest.mark.parametrize("nprocs", [1, 2, 4])
@pytest.mark.parametrize("newton", ["on", "off"])
@pytest.mark.parametrize("name", list(SYSTEMS))
def test_ranks_and_newton_agree(serial, name, nprocs, newton, ghosts, tmp_path):
    atoms = SYSTEMS[name]
    out = single_point(
        tmp_path,
        atoms,
        elements_of(atoms),
        model_file(MODEL[name]),
        nprocs=nprocs,
        newton=newton,
        extra=extra_for(name),
        pre=pre_for(name, nprocs),
        pair=pair_for(name, atoms, ghosts),
    )
    assert ("ghost features exchanged" in out.log) == ghosts.startswith("exchange")
    assert ("directly between ranks over MPI" in out.log) == ghosts.endswith("direct")
    ref = serial[name]
    assert out.energy == pytest.approx(ref.energy, rel=1e-11)
    np.testing.assert_allclose(out.forces, ref.forces, atol=1e-9)
    np.testing.assert_allclose(out.virial, ref.virial, atol=1e-8)
    np.testing.assert_allclose(out.atom_energy, ref.atom_energy, atol=1e-9)
    np.testing.assert_allclose(out.atom_virial, ref.atom_virial, atol=1e-8)
    if name == "molecule_in_corner" and nprocs == 4:
        assert "Nlocal:" in out.log
        assert " 0 min" in out.log.split("Nlocal:")[1].splitlines()[0]


def test_several_ranks_exchange_ghost_features_by_default(tmp_path):
    atoms = SYSTEMS["benzene_box"]
    out = single_point(tmp_path, atoms, elements_of(atoms), model_file("seedarch_77k"), nprocs=2)
    assert (
        "ghost features exchanged before each of 1 interactions (2048 bytes per atom, float64)"
        in out.log
    )
    # One cutoff (5 A) + skin of ghosts, not two.
    assert "ghost cutoff set" not in out.log


@pytest.mark.parametrize("newton", ["on", "off"])
def test_compiled_package_exchanges_on_four_ranks(serial, newton, tmp_path):
    """A CPU AOTInductor package runs its exchange model, whose ghost operations LibTorch's
    runtime calls back into the plugin."""
    atoms = SYSTEMS["benzene_box"]
    package = model_file("seedarch_77k").with_name("seedarch_77k_cpu_fp32.pt2")
    one = single_point(
        tmp_path / "one",
        atoms,
        elements_of(atoms),
        package,
        pair=pair_for("benzene_box", atoms, "auto", package),
    )
    four = single_point(
        tmp_path / "four",
        atoms,
        elements_of(atoms),
        package,
        nprocs=4,
        newton=newton,
        pair=pair_for("benzene_box", atoms, "exchange", package),
    )
    assert four.energy == pytest.approx(one.energy, rel=1e-6)
    np.testing.assert_allclose(four.forces, one.forces, atol=2e-5)
    np.testing.assert_allclose(four.virial, one.virial, atol=2e-4)


@pytest.mark.parametrize("newton", ["on", "off"])
@pytest.mark.parametrize("name", list(SYSTEMS))
def test_deterministic_runs_on_four_ranks_agree(serial, name, newton, tmp_path):
    """deterministic yes orders the edges of ghost nodes too (images of one atom by position),
    and subdomains without atoms have nothing to order."""
    atoms = SYSTEMS[name]
    model = model_file(MODEL[name])
    pair = f"pair_style mlff/student deterministic yes\npair_coeff * * {model} " + " ".join(
        elements_of(atoms)
    )
    out = single_point(
        tmp_path,
        atoms,
        elements_of(atoms),
        model,
        nprocs=4,
        newton=newton,
        extra=extra_for(name),
        pre=pre_for(name, 4),
        pair=pair,
    )
    ref = serial[name]
    assert out.energy == pytest.approx(ref.energy, rel=1e-11)
    np.testing.assert_allclose(out.forces, ref.forces, atol=1e-9)
    np.testing.assert_allclose(out.atom_virial, ref.atom_virial, atol=1e-8)
