"""pair_style mlff/student/kk against mlff/student: Kokkos on CPU threads, or on the GPU when
LAMMPS's Kokkos has the CUDA backend. Skipped when LAMMPS was built without KOKKOS."""

import os

import numpy as np
import pytest

from harness import MODELS, POTENTIALS, elements_of, header, model_file, run_lammps, single_point
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data

pytestmark = pytest.mark.skipif(
    os.environ.get("MLFF_KOKKOS") != "ON", reason="LAMMPS without KOKKOS"
)
GPU = os.environ.get("MLFF_KOKKOS_GPU") == "ON"
KOKKOS = ["-k", "on", "g", "1"] if GPU else ["-k", "on", "t", "2"]
# Kokkos allows newton on only with half lists for other styles; this style always asks for a
# full list of its own.
PACKAGE = {
    "on": ["-pk", "kokkos", "newton", "on", "neigh", "half"],
    "off": ["-pk", "kokkos", "newton", "off", "neigh", "full"],
}

BENZENE = molecules()["benzene"]
SYSTEMS = {
    # Periodic and triclinic, with several images of every atom in the ghost shell on 2 or 4 ranks.
    "benzene_box": molecular_box(BENZENE, 2, 0.87, seed=5, tilt=(0.1, 0.0, -0.05)),
    # An open box, mostly empty: on 2 and 4 ranks some subdomains hold no atom.
    "molecule_in_corner": molecules()["loratadine"],
}
MODEL = {"benzene_box": "seedarch_77k", "molecule_in_corner": "seedarch_427k"}
EXTRA = {"benzene_box": "", "molecule_in_corner": "change_box all x final -10 120 units box\n"}


def kk(newton: str = "on") -> list[str]:
    return KOKKOS + ["-sf", "kk"] + PACKAGE[newton]


def assert_same(out, ref, rel=1e-10):
    assert out.energy == pytest.approx(ref.energy, rel=rel)
    scale = max(1.0, np.abs(ref.forces).max())
    np.testing.assert_allclose(out.forces, ref.forces, atol=rel * scale * 10)
    np.testing.assert_allclose(
        out.virial, ref.virial, atol=rel * max(1.0, np.abs(ref.virial).max()) * 10
    )
    np.testing.assert_allclose(
        out.atom_energy, ref.atom_energy, atol=rel * 10 * max(1.0, abs(ref.energy))
    )
    np.testing.assert_allclose(
        out.atom_virial, ref.atom_virial, atol=rel * 10 * max(1.0, np.abs(ref.atom_virial).max())
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return {
        name: single_point(
            tmp_path_factory.mktemp(name),
            atoms,
            elements_of(atoms),
            model_file(MODEL[name]),
            extra=EXTRA[name],
        )
        for name, atoms in SYSTEMS.items()
    }


# One rank's ghosts are all images of its own atoms. On a GPU one rank's exchange runs through
# Kokkos's device communication; several ranks' through the host unless MPI is GPU-aware. Kokkos
# on CPU threads communicates on the host. The direct exchange finds owners through the host.
@pytest.mark.parametrize("ghosts", ["exchange", "exchange exchange_comm direct", "deep"])
@pytest.mark.parametrize("nprocs", [1, 2, 4])
@pytest.mark.parametrize("newton", ["on", "off"])
@pytest.mark.parametrize("name", list(SYSTEMS))
def test_kokkos_matches_plain_style(plain, name, newton, nprocs, ghosts, tmp_path):
    atoms = SYSTEMS[name]
    model = model_file(MODEL[name])
    pre = f"processors {nprocs} 1 1" if name == "molecule_in_corner" else ""
    pair = f"pair_style mlff/student ghosts {ghosts}\npair_coeff * * {model} " + " ".join(
        elements_of(atoms)
    )
    out = single_point(
        tmp_path,
        atoms,
        elements_of(atoms),
        model,
        nprocs=nprocs,
        newton=newton,
        extra=EXTRA[name],
        pre=pre,
        args=kk(newton),
        pair=pair,
    )
    assert "mlff/student/kk" in out.log
    assert ("ghost features exchanged" in out.log) == ghosts.startswith("exchange")
    assert_same(out, plain[name])


def test_null_type_under_hybrid(tmp_path):
    atoms = SYSTEMS["benzene_box"]
    model = model_file("seedarch_77k")

    pair = (
        f"pair_style hybrid mlff/student zero 5.0\npair_coeff * * mlff/student {model} C NULL\n"
        "pair_coeff 1 2 zero\npair_coeff 2 2 zero"
    )
    ref = single_point(tmp_path / "plain", atoms, ["C", "H"], None, pair=pair)
    out = single_point(
        tmp_path / "kk", atoms, ["C", "H"], None, args=kk("off"), newton="off", pair=pair
    )
    assert "pair build: skip/kk" in out.log  # the sub-style's list is a Kokkos one
    assert_same(out, ref)
    hydrogen = np.array(atoms.get_chemical_symbols()) == "H"
    assert np.all(out.atom_energy[hydrogen] == 0.0) and np.all(out.forces[hydrogen] == 0.0)


@pytest.mark.skipif(GPU, reason="the CPU AOTI package runs only with Kokkos on the host")
def test_aoti_package(tmp_path):
    atoms = SYSTEMS["benzene_box"]
    package = MODELS / "seedarch_77k_cpu_fp32.pt2"
    ref = single_point(tmp_path / "plain", atoms, ["C", "H"], package)
    out = single_point(tmp_path / "kk", atoms, ["C", "H"], package, args=kk("on"))
    assert_same(out, ref, rel=1e-6)


@pytest.mark.skipif(not GPU, reason="reduced precisions and CUDA packages need Kokkos on a GPU")
@pytest.mark.parametrize("variant", ["fp32", "tf32", "fp16", "bf16", "aoti"])
def test_precisions_and_packages_on_gpu(variant, tmp_path):
    atoms = SYSTEMS["benzene_box"]
    if variant == "aoti":
        model, keywords = MODELS / "seedarch_427k_cuda_fp32.pt2", ""
    else:
        model, keywords = model_file("seedarch_427k", "float32"), f" precision {variant}"
    pair = f"pair_style mlff/student device cuda{keywords}\npair_coeff * * {model} C H"
    ref = single_point(tmp_path / "plain", atoms, ["C", "H"], None, pair=pair)
    out = single_point(
        tmp_path / "kk", atoms, ["C", "H"], None, pair=pair, args=kk("off"), newton="off"
    )
    # Same model and precision in both styles; only the order of floating-point sums differs.
    exact = variant in ("fp32", "aoti")
    assert out.energy == pytest.approx(ref.energy, rel=1e-6 if exact else 1e-4)
    error = np.linalg.norm(out.forces - ref.forces) / np.linalg.norm(ref.forces)
    assert error < (1e-5 if exact else 1e-2)


def nve_thermo(workdir, args):
    """100 steps of a liquid box with the default model: the random-weight test models pull atoms
    together in MD until the overlap check stops the run."""
    atoms = molecular_box(BENZENE, 2, 0.87, seed=8)
    workdir.mkdir(parents=True, exist_ok=True)
    write_lammps_data(atoms, workdir / "system.data", ["C", "H"])
    script = (
        header("system.data", ["C", "H"], model_file("student_gfn2"), True)
        + """
velocity all create 300 4 loop geom
fix nve all nve
timestep 0.0005
thermo 25
thermo_style custom step pe ke etotal press
thermo_modify format float %.12g
run 100
"""
    )
    _, log = run_lammps(workdir, script, args=args)
    rows = [line.split() for line in log.splitlines()]
    return np.array(
        [
            [float(v) for v in r]
            for r in rows
            if len(r) == 5 and r[0].isdigit() and int(r[0]) % 25 == 0
        ]
    )


def test_short_nve_run_matches_plain_style(tmp_path):
    ref = nve_thermo(tmp_path / "plain", [])
    out = nve_thermo(tmp_path / "kk", kk("on"))
    assert len(ref) == 5 and ref.shape == out.shape
    np.testing.assert_allclose(out, ref, rtol=1e-8, atol=1e-8)


def run_error(tmp_path, pair: str, args: list[str]) -> str:
    atoms = SYSTEMS["benzene_box"]
    write_lammps_data(atoms, tmp_path / "system.data", ["C", "H"])
    script = header("system.data", ["C", "H"], None, True, pair=pair) + "run 0\n"
    code, log = run_lammps(tmp_path, script, check=False, args=args)
    assert code != 0
    return log


@pytest.mark.skipif(GPU, reason="on a GPU build device cuda is the right one")
def test_device_must_match_kokkos_memory(tmp_path):
    log = run_error(
        tmp_path,
        f"pair_style mlff/student/kk device cuda\npair_coeff * * {model_file('seedarch_77k')} C H",
        kk("on"),
    )
    assert (
        "Kokkos keeps the atoms in host memory here, so the model must run with device cpu" in log
    )


def test_kokkos_style_needs_kokkos_enabled(tmp_path):
    log = run_error(
        tmp_path, f"pair_style mlff/student/kk\npair_coeff * * {model_file('seedarch_77k')} C H", []
    )
    assert "needs the KOKKOS package enabled: run LAMMPS with -k on" in log


@pytest.mark.skipif(GPU, reason="on a GPU the Kokkos step replays CUDA graphs")
def test_cuda_graph_is_refused_on_the_host(tmp_path):
    log = run_error(
        tmp_path,
        f"pair_style mlff/student/kk cuda_graph yes\npair_coeff * * "
        f"{model_file('seedarch_77k')} C H",
        kk("on"),
    )
    assert "cuda_graph yes needs Kokkos on a GPU" in log


def graph_thermo(workdir, mode: str, density: float) -> np.ndarray:
    """NVE of a box of 8 benzene molecules, reneighbored every 10 steps (new pairs for the graph),
    then squeezed by fix deform with 40 steps between reneighborings: more pairs come within the
    cutoff than the graph was captured for, and it grows within the run."""
    atoms = molecular_box(BENZENE, 2, density, seed=8)
    workdir.mkdir(parents=True, exist_ok=True)
    write_lammps_data(atoms, workdir / "system.data", ["C", "H"])
    pair = (
        f"pair_style mlff/student cuda_graph {mode}\n"
        f"pair_coeff * * {model_file('student_gfn2')} C H"
    )
    script = (
        header("system.data", ["C", "H"], None, True, "off", pair=pair)
        + """
velocity all create 300 4 loop geom
fix nve all nve
timestep 0.0005
neigh_modify every 10 delay 0 check no
thermo 10
thermo_style custom step pe ke etotal press
thermo_modify format float %.15g
run 60
fix squeeze all deform 1 x scale 0.93 y scale 0.93 z scale 0.93 remap x
neigh_modify every 40 delay 0 check no
run 40
"""
    )
    _, log = run_lammps(workdir, script, args=kk("off"))
    rows = [line.split() for line in log.splitlines()]
    return np.array([[float(v) for v in r] for r in rows if len(r) == 5 and r[0].isdigit()])


@pytest.mark.skipif(not GPU, reason="the Kokkos step's CUDA graphs need Kokkos on a GPU")
@pytest.mark.parametrize("density", [0.87, 0.3], ids=["liquid", "vapor"])
def test_cuda_graph_replays_equal_eager_steps(tmp_path, density):
    """Small systems replay the Kokkos step as a captured CUDA graph (cuda_graph auto or yes):
    the same edges in the same order as the eager step, only atomics may add in another order.
    The liquid's pair table (about 11,000 rows) takes the edges in several kernels, the vapor's
    (about 3,400) in one block of threads (edge_kernels::picks_in_one_block)."""
    graphed = graph_thermo(tmp_path / "yes", "yes", density)
    eager = graph_thermo(tmp_path / "no", "no", density)
    assert len(graphed) == 12 and graphed.shape == eager.shape
    np.testing.assert_allclose(graphed, eager, rtol=1e-9, atol=1e-9)


def liquid_thermo(workdir, options: str) -> list[str]:
    """Thermo lines of 200 NVE steps of a liquid-benzene box, every digit."""
    atoms = molecular_box(BENZENE, 3 if GPU else 2, 0.87, seed=7)
    workdir.mkdir(parents=True, exist_ok=True)
    write_lammps_data(atoms, workdir / "system.data", ["C", "H"])
    model = POTENTIALS / "student_gfn2_liquid.pt"
    pair = f"pair_style mlff/student {options}\npair_coeff * * {model} C H"
    script = (
        header("system.data", ["C", "H"], model, True, pair=pair)
        + """
velocity all create 300 11 dist gaussian
fix nve all nve
timestep 0.0005
thermo 50
thermo_style custom step pe ke press pxy
thermo_modify format float %.17g
run 200
"""
    )
    _, log = run_lammps(workdir, script, args=KOKKOS + ["-sf", "kk"] + PACKAGE["on"])
    return [
        line for line in log.splitlines() if len(line.split()) == 5 and line.split()[0].isdigit()
    ]


def test_deterministic_reruns_are_bit_identical(tmp_path):
    """Kokkos's neighbor lists come out in a different order from run to run on a GPU (and on
    several threads), which changed the rounding of every sum: two identical runs of 8,748 atoms
    were 0.018 eV apart after 1000 steps. With deterministic yes they are identical."""
    first = liquid_thermo(tmp_path / "first", "deterministic yes")
    second = liquid_thermo(tmp_path / "second", "deterministic yes")
    assert len(first) == 5 and first == second
