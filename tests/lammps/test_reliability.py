"""Inputs that once gave a silently wrong answer now give the right one or a clear error."""

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from ase.build import molecule

from harness import LMP, MODELS, NKTV2P_METAL, PLUGIN, header, run_lammps, single_point
from mlff_student import export_torchscript, load_checkpoint
from mlff_student.data.systems import molecular_box, molecules, write_lammps_data
from mlff_student.deploy.export import read_metadata
from mlff_student.integrations.ase_calculator import evaluate

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "potentials" / "student_gfn2.pt"
BENZENE = molecule("C6H6")


def pair(options: str) -> str:
    return f"pair_style mlff/student {options}\npair_coeff * * {DEFAULT_MODEL} C H"


def test_a_pair_style_issued_again_after_pair_coeff_takes_effect(tmp_path):
    """LAMMPS keeps the coefficients of a re-issued pair_style of the same style: the loaded
    model must run with the new precision, not keep the old one silently."""
    fp32 = single_point(
        tmp_path / "fp32",
        BENZENE,
        ["C", "H"],
        DEFAULT_MODEL,
        pair=pair("device cpu precision fp32"),
    )
    fp64 = single_point(
        tmp_path / "fp64",
        BENZENE,
        ["C", "H"],
        DEFAULT_MODEL,
        pair=pair("device cpu precision fp64"),
    )
    again = single_point(
        tmp_path / "again",
        BENZENE,
        ["C", "H"],
        DEFAULT_MODEL,
        pair=pair("device cpu precision fp32"),
        extra="pair_style mlff/student device cpu precision fp64\n",
    )
    assert abs(fp32.energy - fp64.energy) > 1e-7  # the two precisions are told apart
    assert again.energy == fp64.energy
    assert np.array_equal(again.forces, fp64.forces)
    assert "pair_style issued again: reloaded" in again.log


def peak_memory_mib(workdir: Path, script: str) -> float:
    """Peak resident memory of a LAMMPS run, measured in a process of its own."""
    (workdir / "in.lmp").write_text(script)
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, LMP, "-in", "in.lmp", "-log", "log.lammps"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1]) / 1024.0


def test_memory_follows_the_atom_count_not_the_largest_atom_id(tmp_path):
    """Folding periodic images onto their atoms once kept a table as long as the largest ID:
    one ID of 2,000,000,000 took 8 GB."""
    box = BENZENE.copy()
    box.cell = [12.0, 12.0, 12.0]
    box.pbc = True
    box.center()
    peaks = {}
    for case, last_id in (("small_ids", 12), ("huge_id", 2_000_000_000)):
        work = tmp_path / case
        work.mkdir()
        write_lammps_data(box, work / "system.data", ["C", "H"])
        text = (work / "system.data").read_text().replace("\n12 2 ", f"\n{last_id} 2 ")
        (work / "system.data").write_text(text)
        script = header("system.data", ["C", "H"], DEFAULT_MODEL, periodic=True) + "run 10\n"
        peaks[case] = peak_memory_mib(work, script)
    assert peaks["huge_id"] < peaks["small_ids"] + 100, peaks


@pytest.fixture(scope="module")
def float64_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "student_gfn2_float64.pt"
    export_torchscript(load_checkpoint(DEFAULT_MODEL.with_suffix(".ckpt")), path, "float64")
    return path


def distorted_benzene(periodic: bool):
    atoms = BENZENE.copy()
    atoms.positions += np.random.default_rng(5).normal(scale=0.08, size=atoms.positions.shape)
    if periodic:  # small enough that periodic images interact
        atoms.cell = [[7.5, 0, 0], [0.8, 7.0, 0], [-0.5, 0.6, 6.5]]
        atoms.pbc = True
    return atoms


@pytest.mark.parametrize("style", ["mlff/student", "mlff/student/kk"])
@pytest.mark.parametrize("periodic", [False, True], ids=["open", "triclinic"])
def test_centroid_stress_has_all_nine_components(tmp_path, float64_model, style, periodic):
    """compute centroid/stress/atom once copied xy, xz, yz into yx, zx, zy; a many-body model's
    per-atom tensor -1/2 sum r (x) g is not symmetric."""
    if style.endswith("/kk") and os.environ.get("MLFF_KOKKOS") != "ON":
        pytest.skip("LAMMPS without KOKKOS")
    atoms = distorted_benzene(periodic)
    ref = evaluate(load_checkpoint(DEFAULT_MODEL.with_suffix(".ckpt")), atoms)["centroid_virials"]
    where = ["g", "1"] if os.environ.get("MLFF_KOKKOS_GPU") == "ON" else ["t", "1"]
    args = (
        ["-k", "on", *where, "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half"]
        if style.endswith("/kk")
        else []
    )
    write_lammps_data(atoms, tmp_path / "system.data", ["C", "H"])
    script = (
        header("system.data", ["C", "H"], float64_model, periodic)
        + """
compute centroid all centroid/stress/atom NULL virial
compute stress all stress/atom NULL virial
dump rows all custom 1 rows.dump id c_centroid[*] c_stress[*]
dump_modify rows sort id format float %.16g
run 0
"""
    )
    run_lammps(tmp_path, script, args=args)
    rows = np.loadtxt(tmp_path / "rows.dump", skiprows=9)
    centroid = -rows[:, 1:10] / NKTV2P_METAL
    stress = -rows[:, 10:16] / NKTV2P_METAL
    np.testing.assert_allclose(centroid, ref, atol=1e-9)
    np.testing.assert_allclose(stress, ref[:, :6], atol=1e-9)
    # The case that was wrong: the lower triangle differs from the upper one.
    assert np.abs(ref[:, 6:] - ref[:, 3:6]).max() > 1e-3


def engine_args(engine: str) -> tuple[list[str], int]:
    """LAMMPS's command-line flags and ranks for the plain style, the Kokkos one, two ranks."""
    if engine == "kk":
        if os.environ.get("MLFF_KOKKOS") != "ON":
            pytest.skip("LAMMPS without KOKKOS")
        where = ["g", "1"] if os.environ.get("MLFF_KOKKOS_GPU") == "ON" else ["t", "1"]
        flags = ["-k", "on", *where, "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half"]
        return flags, 1
    return [], 2 if engine == "2 ranks" else 1


@pytest.mark.parametrize("style", ["mlff/student", "mlff/student/kk"])
def test_overlapping_atoms_stop_the_run_naming_both(tmp_path, style):
    """Coincident atoms once gave finite energies and 1e7 eV/Å forces, and the run died later
    with 'Lost atoms'."""
    args, _ = engine_args("kk" if style.endswith("/kk") else "plain")
    atoms = BENZENE.copy()
    atoms.positions[7] = atoms.positions[1] + [0.02, 0.0, 0.0]  # H 8 onto C 2
    write_lammps_data(atoms, tmp_path / "system.data", ["C", "H"])
    script = header("system.data", ["C", "H"], DEFAULT_MODEL, periodic=False) + "run 0\n"
    code, output = run_lammps(tmp_path, script, check=False, args=args)
    assert code != 0 and code < 128, output[-2000:]
    assert "ERROR" in output and "are 0.02 A apart, closer than min_distance 0.5 A" in output
    assert ("atoms 2 and 8" in output) or ("atoms 8 and 2" in output), output[-2000:]
    # The check can be turned off, and then the run goes through.
    script = script.replace("pair_style mlff/student", "pair_style mlff/student min_distance 0")
    run_lammps(
        tmp_path / "unchecked",
        script.replace("system.data", str(tmp_path / "system.data")),
        args=args,
    )


def lammps_has_package(name: str) -> bool:
    help_text = subprocess.run([LMP, "-h"], capture_output=True, text=True).stdout
    installed = help_text.split("Installed packages:")[-1].split("List of individual style")[0]
    return name in installed.split()


def bonded_benzene_data(path: Path) -> None:
    """Benzene with its 12 bonds (atom_style bond), as a topology-aware data file holds it."""
    write_lammps_data(BENZENE, path, ["C", "H"])
    text = path.read_text().replace("2 atom types\n", "2 atom types\n12 bonds\n1 bond types\n")
    text = text.replace("Atoms # atomic", "Atoms # bond")
    rows = text.split("Atoms # bond\n\n")[1].strip().splitlines()
    body = [f"{r.split()[0]} 1 {' '.join(r.split()[1:])}" for r in rows]  # molecule ID 1
    ring = [(i, i % 6 + 1) for i in range(1, 7)] + [(i, i + 6) for i in range(1, 7)]
    bonds = [f"{k + 1} 1 {a} {b}" for k, (a, b) in enumerate(ring)]
    head = text.split("Atoms # bond\n\n")[0]
    path.write_text(
        head + "Atoms # bond\n\n" + "\n".join(body) + "\n\nBonds\n\n" + "\n".join(bonds) + "\n"
    )


@pytest.mark.parametrize(
    "special, works",
    [
        ("", False),
        ("special_bonds lj/coul 1.0 1.0 1.0", True),
        # Weights for another style of hybrid/overlay that keep the pairs (flagged) in the lists.
        ("special_bonds lj 0.0 0.0 0.5 coul 1.0 1.0 1.0", True),
    ],
)
def test_bonded_pairs_are_not_silently_left_out(tmp_path, float64_model, special, works):
    """With a molecular atom style LAMMPS drops bonded pairs whose special weights are 0 from
    every neighbor list; the model would then miss its strongest edges."""
    if not lammps_has_package("MOLECULE"):
        pytest.skip("LAMMPS without MOLECULE")
    bonded_benzene_data(tmp_path / "bonded.data")
    script = f"""plugin load {PLUGIN}
units metal
atom_style bond
boundary f f f
read_data bonded.data
bond_style zero
bond_coeff *
{special}
pair_style mlff/student
pair_coeff * * {float64_model} C H
run 0
print "RESULT $(pe:%.16g)"
"""
    code, output = run_lammps(tmp_path, script, check=False)
    if not works:
        assert code != 0 and code < 128
        assert "special_bonds weights of 0 for 1-2 pairs" in output
        assert "special_bonds lj/coul 1.0 1.0 1.0" in output
        return
    assert code == 0, output[-2000:]
    energy = float(
        next(line for line in output.splitlines() if line.startswith("RESULT")).split()[1]
    )
    plain = single_point(tmp_path / "atomic", BENZENE, ["C", "H"], float64_model)
    assert energy == pytest.approx(plain.energy, abs=1e-9)


@pytest.mark.parametrize("engine", ["plain", "kk", "2 ranks"])
@pytest.mark.parametrize(
    "setting, form",
    [
        ("neigh_modify exclude type 1 2", "'neigh_modify exclude type'"),
        ("neigh_modify exclude group carbon hydrogen", "'neigh_modify exclude group'"),
        ("neigh_modify exclude molecule/intra all", "'neigh_modify exclude molecule/intra'"),
        ("neigh_modify exclude molecule/inter all", "'neigh_modify exclude molecule/inter'"),
        ("atom_modify first carbon\nneigh_modify include carbon", "'neigh_modify include carbon'"),
        (
            "pair_style hybrid mlff/student zero 5.0\npair_coeff * * mlff/student {model} C H\n"
            "pair_coeff 1 2 zero",
            "gives pairs of atom types 1 and 2 to another style",
        ),
    ],
)
def test_lists_without_some_pairs_are_refused(tmp_path, float64_model, engine, setting, form):
    """neigh_modify exclude once gave the liquid's pe -3361.99 eV instead of -3453.92 eV without
    a word: the model's graph needs every pair within the cutoff, which such a list lacks. So do
    'neigh_modify include' (lists for a group only) and a hybrid that gives type pairs to
    another style."""
    args, nprocs = engine_args(engine)
    molecular = "molecule" in setting
    if molecular and not lammps_has_package("MOLECULE"):
        pytest.skip("LAMMPS without MOLECULE")
    if molecular:  # molecule IDs and bonds, every bonded pair kept in the list
        bonded_benzene_data(tmp_path / "system.data")
        atoms = "atom_style bond\nread_data system.data\nbond_style zero\nbond_coeff *\n"
        atoms += "special_bonds lj/coul 1.0 1.0 1.0"
    else:
        write_lammps_data(BENZENE, tmp_path / "system.data", ["C", "H"])
        atoms = "atom_style atomic\nread_data system.data"
    pair = f"pair_style mlff/student\npair_coeff * * {float64_model} C H"
    if setting.startswith("pair_style"):
        pair, setting = setting.format(model=float64_model), ""
    script = f"""plugin load {PLUGIN}
units metal
boundary f f f
{atoms}
group carbon type 1
group hydrogen type 2
{pair}
{setting}
run 0
"""
    code, output = run_lammps(tmp_path, script, nprocs=nprocs, check=False, args=args)
    assert code != 0, output[-2000:]
    assert code < 128, f"LAMMPS died from a signal ({code}):\n{output[-2000:]}"
    assert "ERROR" in output and form in output, output[-2000:]
    assert "the model needs every pair within its cutoff" in output, output[-2000:]


@pytest.mark.parametrize("engine", ["plain", "kk"])
def test_lists_that_hold_every_pair_still_run(tmp_path, float64_model, engine):
    """What the refusals above leave alone: exclusions lifted again (hybrid sub-styles for NULL
    types' pairs: test_kokkos.py's test_null_type_under_hybrid)."""
    args, _ = engine_args(engine)
    write_lammps_data(BENZENE, tmp_path / "system.data", ["C", "H"])
    script = f"""plugin load {PLUGIN}
units metal
boundary f f f
atom_style atomic
read_data system.data
neigh_modify exclude type 1 2
neigh_modify exclude none
pair_style mlff/student
pair_coeff * * {float64_model} C H
run 0
print "RESULT $(pe:%.16g)"
"""
    code, output = run_lammps(tmp_path, script, check=False, args=args)
    assert code == 0, output[-2000:]
    energy = float(
        next(line for line in output.splitlines() if line.startswith("RESULT")).split()[1]
    )
    plain = single_point(tmp_path / "atomic", BENZENE, ["C", "H"], float64_model)
    assert energy == pytest.approx(plain.energy, abs=1e-9)


def test_ghosts_deep_on_one_rank_says_the_default_is_cheaper(tmp_path, float64_model):
    """ghosts deep on one rank took 6.7 GB for the 96-atom liquid (0.57 GB by default) for the
    same numbers, and said nothing where two ranks warn."""
    atoms = molecular_box(BENZENE, 2, 0.87, seed=5)
    pair = f"pair_style mlff/student {{}}\npair_coeff * * {float64_model} C H"
    deep = single_point(tmp_path / "deep", atoms, ["C", "H"], None, pair=pair.format("ghosts deep"))
    folded = single_point(tmp_path / "folded", atoms, ["C", "H"], None, pair=pair.format(""))
    assert "ghosts deep on one rank" in deep.log and "leave 'ghosts deep' out" in deep.log
    assert "ghosts deep on one rank" not in folded.log
    assert deep.energy == pytest.approx(folded.energy, abs=1e-9)


def run_expecting_error(tmp_path, script: str, message: str, nprocs: int = 1, env=None):
    code, output = run_lammps(tmp_path, script, nprocs=nprocs, check=False, env=env)
    assert code != 0, output[-2000:]
    assert code < 128, f"LAMMPS died from a signal ({code}):\n{output[-2000:]}"
    assert "ERROR" in output and message in output, output[-3000:]
    return output


def benzene_script(tmp_path, model, elements="C H", pre="", periodic=False, options="") -> str:
    write_lammps_data(
        PERIODIC_BENZENE if periodic else BENZENE, tmp_path / "system.data", ["C", "H"]
    )
    return (
        header(
            "system.data",
            ["C", "H"],
            model,
            periodic,
            pre=pre,
            pair=f"pair_style mlff/student {options}\npair_coeff * * {model} {elements}",
        )
        + "run 0\n"
    )


PERIODIC_BENZENE = BENZENE.copy()
PERIODIC_BENZENE.cell = [9.0, 9.0, 9.0]
PERIODIC_BENZENE.pbc = True
PERIODIC_BENZENE.center()


def test_all_types_null_says_so(tmp_path):
    run_expecting_error(
        tmp_path,
        benzene_script(tmp_path, DEFAULT_MODEL, "NULL NULL"),
        "maps every atom type to NULL",
    )


def test_a_directory_as_model_says_so(tmp_path):
    (tmp_path / "models").mkdir()
    run_expecting_error(tmp_path, benzene_script(tmp_path, tmp_path / "models"), "is a directory")


def test_files_are_told_apart_by_content_not_name(tmp_path):
    """A TorchScript file named .pt2 (or a package named .pt) once failed with a loader's
    internal message; either now runs as what it is."""
    renamed = tmp_path / "student.pt2"
    renamed.write_bytes(DEFAULT_MODEL.read_bytes())
    ref = single_point(tmp_path / "ref", BENZENE, ["C", "H"], DEFAULT_MODEL)
    out = single_point(tmp_path / "renamed", BENZENE, ["C", "H"], renamed)
    assert out.energy == ref.energy
    package = MODELS / "student_gfn2_cpu_fp32.pt2"
    if package.exists():
        as_pt = tmp_path / "package.pt"
        as_pt.write_bytes(package.read_bytes())
        out = single_point(tmp_path / "package", BENZENE, ["C", "H"], as_pt)
        assert out.energy == pytest.approx(ref.energy, rel=1e-5)


def rewrite_package(source: Path, target: Path, cut_library: bool) -> None:
    """A copy of a package whose shared library, or whose whole archive, is cut in half."""
    if not cut_library:
        data = source.read_bytes()
        target.write_bytes(data[: len(data) // 2])
        return
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[: len(data) // 2] if info.filename.endswith(".so") else data)


@pytest.mark.parametrize("cut_library", [True, False], ids=["library", "archive"])
def test_a_truncated_package_stops_cleanly_and_leaves_nothing_behind(tmp_path, cut_library):
    """A package whose inner library was truncated once killed LAMMPS with SIGBUS in dlopen,
    and failed loads left extraction directories in the temporary directory."""
    package = MODELS / "student_gfn2_cpu_fp32.pt2"
    if not package.exists():
        pytest.skip("no CPU package among the test models")
    broken = tmp_path / "broken.pt2"
    rewrite_package(package, broken, cut_library)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    message = "truncated or corrupt shared library" if cut_library else "is not a complete"
    run_expecting_error(
        tmp_path, benzene_script(tmp_path, broken), message, env={"TMPDIR": str(scratch)}
    )
    assert not any(scratch.iterdir())


def test_comm_style_tiled_that_cannot_reach_the_ghost_depth_says_what_to_use(tmp_path):
    script = benzene_script(
        tmp_path, DEFAULT_MODEL, periodic=True, pre="comm_style tiled", options="ghosts deep"
    )
    run_expecting_error(tmp_path, script, "use comm_style brick", nprocs=2)


def test_comm_style_tiled_exchanges_ghost_features(tmp_path):
    """The exchange needs one cutoff of ghosts, which comm_style tiled gives."""
    script = benzene_script(tmp_path, DEFAULT_MODEL, periodic=True, pre="comm_style tiled")
    script += 'print "RESULT $(pe:%.16g)"\n'
    _, tiled = run_lammps(tmp_path, script, nprocs=2)
    _, one = run_lammps(
        tmp_path / "one", script.replace("system.data", str(tmp_path / "system.data"))
    )
    assert "ghost features exchanged" in tiled
    energy = [
        float(next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1])
        for out in (tiled, one)
    ]
    assert energy[0] == pytest.approx(energy[1], rel=1e-6)


def test_ranks_swamped_by_ghosts_get_a_warning(tmp_path):
    """With the deep shell; the exchange's ghosts have no edges of their own."""
    script = benzene_script(tmp_path, DEFAULT_MODEL, periodic=True, options="ghosts deep")
    _, output = run_lammps(tmp_path, script, nprocs=2)
    assert "WARNING" in output and "ghost atoms for 12 atoms" in output, output[-2000:]
    _, output = run_lammps(
        tmp_path / "one", script.replace("system.data", str(tmp_path / "system.data"))
    )
    assert "ghost atoms for" not in output


def test_an_element_the_model_was_not_trained_on_gets_a_warning(tmp_path):
    """pair_coeff * * student_gfn2.pt Si H once gave an energy without a word."""
    _, output = run_lammps(tmp_path, benzene_script(tmp_path, DEFAULT_MODEL, "Si H"))
    assert "WARNING" in output and "element Si (atom type 1) is not among the elements" in output
    (tmp_path / "trained").mkdir()
    _, output = run_lammps(
        tmp_path / "trained", benzene_script(tmp_path / "trained", DEFAULT_MODEL)
    )
    assert "is not among the elements" not in output


def test_a_package_from_another_pytorch_is_refused_with_what_to_do(tmp_path):
    """A package's compiled code targets the AOTInductor runtime of the PyTorch that made it."""
    package = MODELS / "student_gfn2_cpu_fp32.pt2"
    if not package.exists():
        pytest.skip("no CPU package among the test models")
    older = tmp_path / "older.pt2"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(older, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("_metadata.json"):
                meta = json.loads(data)
                meta["torch_version"] = "2.9.1"
                data = json.dumps(meta).encode()
            dst.writestr(info, data)
    run_expecting_error(
        tmp_path,
        benzene_script(tmp_path, older),
        "was compiled with PyTorch 2.9.1, but this plugin runs LibTorch",
    )
    (tmp_path / "same").mkdir()
    _, output = run_lammps(tmp_path / "same", benzene_script(tmp_path / "same", package))
    assert re.search(r"mlff/student \d+\.\d+\.\d+ with LibTorch \d+\.\d+\.\d+", output), output[
        -2000:
    ]


def kokkos_args(style: str, threads: int = 1) -> list[str]:
    if not style.endswith("/kk"):
        return []
    if os.environ.get("MLFF_KOKKOS") != "ON":
        pytest.skip("LAMMPS without KOKKOS")
    where = ["g", "1"] if os.environ.get("MLFF_KOKKOS_GPU") == "ON" else ["t", str(threads)]
    return ["-k", "on", *where, "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half"]


@pytest.mark.parametrize("style", ["mlff/student", "mlff/student/kk"])
def test_deterministic_results_do_not_depend_on_the_order_atoms_are_stored_in(tmp_path, style):
    """Kokkos builds neighbor lists with atomics, so the order of a row, and with it the
    rounding of every sum over edges, changed from run to run (0.018 eV apart after 1000 steps of
    8,748 atoms on a GPU). With deterministic yes the result depends on the atoms alone: here
    atoms stored in another order (LAMMPS's spatial sort) give bit-identical numbers. (An
    orthogonal box: in a triclinic one the sort itself rounds positions through box
    coordinates.)"""
    box = molecular_box(BENZENE, 2, 0.87, seed=5)
    args = kokkos_args(style)

    def run(name: str, options: str, sort: str):
        return single_point(
            tmp_path / name,
            box,
            ["C", "H"],
            DEFAULT_MODEL,
            args=args,
            pre=f"atom_modify sort {sort}",
            pair=pair(options),
        )

    stored = run("stored", "deterministic yes", "0 0.0")
    sorted_ = run("sorted", "deterministic yes", "1 1.3")
    assert "deterministic" in sorted_.log
    assert stored.energy == sorted_.energy
    assert np.array_equal(stored.forces, sorted_.forces)
    assert np.array_equal(stored.virial, sorted_.virial)
    assert np.array_equal(stored.atom_virial, sorted_.atom_virial)
    # The sort does reorder the atoms: without the keyword the sums are rounded differently.
    default_stored = run("default_stored", "", "0 0.0")
    default_sorted = run("default_sorted", "", "1 1.3")
    assert not np.array_equal(default_stored.forces, default_sorted.forces)
    assert np.abs(default_stored.forces - stored.forces).max() < 1e-4


def test_a_run_killed_midway_continues_from_its_restart_file(tmp_path):
    """A run killed (SIGKILL) after writing a restart file, continued from that file with the
    pair style given again, ends where the uninterrupted run ends: bit for bit, with
    deterministic yes (the continued run builds its neighbor lists at other steps)."""
    write_lammps_data(BENZENE, tmp_path / "system.data", ["C", "H"])
    model = DEFAULT_MODEL
    pair_lines = f"pair_style mlff/student deterministic yes\npair_coeff * * {model} C H\n"
    md = """velocity all create 600 5 dist gaussian
fix nve all nve
timestep 0.0005
"""
    final = (
        "dump end all custom 1 end.dump id x y z vx vy vz\n"
        "dump_modify end sort id format float %.17g first yes\n"
    )

    def final_state(workdir: Path) -> np.ndarray:
        return np.loadtxt(workdir / "end.dump", skiprows=9)

    whole = tmp_path / "whole"
    whole.mkdir()
    run_lammps(
        whole,
        header(str(tmp_path / "system.data"), ["C", "H"], model, False, pair=pair_lines)
        + md
        + "run 300\n"
        + final
        + "run 0\n",
    )

    # The same run, written to restart files every 100 steps and killed after the one at 200.
    killed = tmp_path / "killed"
    killed.mkdir()
    script = (
        header(str(tmp_path / "system.data"), ["C", "H"], model, False, pair=pair_lines)
        + md
        + "restart 100 state.*\nrun 1000000\n"
    )
    (killed / "in.lmp").write_text(script)
    proc = subprocess.Popen(
        [LMP, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"], cwd=killed
    )
    try:
        for _ in range(1200):
            if (killed / "state.300").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert (killed / "state.200").exists(), "the run wrote no restart file"
    resumed = killed / "resumed"
    resumed.mkdir()
    run_lammps(
        resumed,
        f"""plugin load {PLUGIN}
read_restart {killed / "state.200"}
{pair_lines}neighbor 1.0 bin
fix nve all nve
timestep 0.0005
run 100
"""
        + final
        + "run 0\n",
    )
    np.testing.assert_array_equal(final_state(resumed), final_state(whole))


@pytest.mark.parametrize(
    "path, made_by",
    [
        (DEFAULT_MODEL, "2.11."),
        (Path(__file__).resolve().parent / "data" / "student_gfn2_torch2.15.pt", "2.15."),
    ],
    ids=["made by torch 2.11", "made by torch 2.15"],
)
def test_torchscript_files_of_either_tested_torch_run(tmp_path, path, made_by):
    """Version skew between the torch that wrote a file and the LibTorch of the plugin is the
    peers' most common complaint. The same model written by each tested torch (float32) runs in
    this plugin, whichever of them it is built against, and gives the Python model's numbers."""
    meta = read_metadata(path)
    assert meta["torch_version"].startswith(made_by)
    caffeine = molecules()["caffeine"]
    got = single_point(tmp_path, caffeine, ["H", "C", "N", "O"], path)
    ref = evaluate(load_checkpoint(DEFAULT_MODEL.with_suffix(".ckpt")), caffeine)
    assert got.energy == pytest.approx(ref["energy"], abs=2e-3)
    np.testing.assert_allclose(got.forces, ref["forces"], atol=2e-3)
