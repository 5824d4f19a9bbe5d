"""device cuda against the float64 reference, per precision; skipped where there is no GPU."""

import os

import numpy as np
import pytest
import torch

from harness import MODELS, elements_of, model_file, reference_model, single_point
from mlff_student.data.systems import molecular_box, molecules
from mlff_student.integrations.ase_calculator import evaluate

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

# Bounds per precision: relative energy error, relative force error (norm over all atoms).
# Autocast covers the interaction blocks only; the readout stays fp32 (the measured errors, about
# 0.03 meV/atom in fp16, 1.3 in bf16 and 0.5 in tf32, are in
# bench/notes/2026-11-23-h100-formats-precision.md).
BOUNDS = {"fp32": (1e-6, 1e-5), "tf32": (2e-4, 1e-2), "fp16": (5e-5, 1e-2), "bf16": (5e-4, 5e-2)}


@pytest.fixture(scope="module")
def cases():
    mols = molecules()
    model = reference_model("seedarch_427k")
    systems = {
        "loratadine": mols["loratadine"],
        "benzene_box": molecular_box(mols["benzene"], 3, 0.87, seed=11),
    }
    return {name: (atoms, evaluate(model, atoms)) for name, atoms in systems.items()}


def check(out, ref, precision):
    e_rel, f_rel = BOUNDS[precision]
    assert out.energy == pytest.approx(ref["energy"], rel=e_rel)
    assert np.linalg.norm(out.forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < f_rel
    assert np.isfinite(out.virial).all()


@pytest.mark.parametrize("precision", list(BOUNDS))
@pytest.mark.parametrize("name", ["loratadine", "benzene_box"])
def test_torchscript_on_cuda(cases, name, precision, tmp_path):
    atoms, ref = cases[name]
    out = single_point(
        tmp_path,
        atoms,
        elements_of(atoms),
        None,
        pair=f"pair_style mlff/student device cuda precision {precision}\n"
        f"pair_coeff * * {model_file('seedarch_427k', 'float32')} {' '.join(elements_of(atoms))}",
    )
    check(out, ref, precision)


@pytest.mark.parametrize("name", ["loratadine", "benzene_box"])
def test_aoti_on_cuda(cases, name, tmp_path):
    atoms, ref = cases[name]
    out = single_point(tmp_path, atoms, elements_of(atoms), MODELS / "seedarch_427k_cuda_fp32.pt2")
    check(out, ref, "fp32")


@pytest.mark.parametrize("ghosts", ["auto", "exchange"])
def test_two_ranks_share_one_gpu(cases, ghosts, tmp_path):
    """auto takes the deep shell here (the plain style's rows would go through host memory; NCCL
    needs a GPU per rank); exchange moves the rows LAMMPS packs between the GPU and its host
    buffers. With a GPU per rank auto exchanges over NCCL."""
    atoms, _ = cases["benzene_box"]
    pair = (
        f"pair_style mlff/student device cuda ghosts {ghosts}\n"
        f"pair_coeff * * {model_file('seedarch_427k', 'float32')} C H"
    )
    one = single_point(tmp_path / "one", atoms, ["C", "H"], None, pair=pair)
    two = single_point(tmp_path / "two", atoms, ["C", "H"], None, pair=pair, nprocs=2)
    one_gpu = torch.cuda.device_count() == 1
    assert ("ghost features exchanged" in two.log) == (ghosts == "exchange" or not one_gpu)
    assert two.energy == pytest.approx(one.energy, rel=1e-6)
    np.testing.assert_allclose(two.forces, one.forces, atol=1e-4)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL needs a GPU for each of 2 ranks")
@pytest.mark.parametrize("style", ["plain", "kokkos"])
@pytest.mark.parametrize("newton", ["on", "off"])
def test_two_gpus_exchange_over_nccl(cases, style, newton, tmp_path):
    """With a GPU per rank, auto exchanges ghost features directly between the GPUs over NCCL:
    float64 on 2 ranks equals 1 rank (energies, forces, global and per-atom virials)."""
    if style == "kokkos" and os.environ.get("MLFF_KOKKOS_GPU") != "ON":
        pytest.skip("LAMMPS without Kokkos on the GPU")
    atoms, _ = cases["benzene_box"]
    pair = (
        f"pair_style mlff/student device cuda precision fp64\n"
        f"pair_coeff * * {model_file('seedarch_427k', 'float64')} C H"
    )

    def args(gpus):
        if style == "plain":
            return []
        return [
            "-k",
            "on",
            "g",
            str(gpus),
            "-sf",
            "kk",
            "-pk",
            "kokkos",
            "newton",
            newton,
            "neigh",
            "half" if newton == "on" else "full",
        ]

    one = single_point(
        tmp_path / "one", atoms, ["C", "H"], None, pair=pair, newton=newton, args=args(1)
    )
    two = single_point(
        tmp_path / "two", atoms, ["C", "H"], None, pair=pair, newton=newton, nprocs=2, args=args(2)
    )
    assert "directly between GPUs over NCCL" in two.log
    assert two.energy == pytest.approx(one.energy, rel=1e-10)
    np.testing.assert_allclose(two.forces, one.forces, atol=1e-9)
    np.testing.assert_allclose(two.virial, one.virial, atol=1e-8)
    np.testing.assert_allclose(two.atom_energy, one.atom_energy, atol=1e-9)
    np.testing.assert_allclose(two.atom_virial, one.atom_virial, atol=1e-8)


@pytest.mark.parametrize(
    "model, precision",
    [
        ("seedarch_427k_float32.pt", "fp32"),
        ("seedarch_427k_float32.pt", "fp16"),
        ("seedarch_427k_cuda_fp32.pt2", "fp32"),
    ],
)
def test_cuda_graph_replays_equal_eager_steps(cases, model, precision, tmp_path):
    """Padded inputs replayed by a CUDA graph give the eager result, also after the graph has to
    grow: the box is compressed between two evaluations, which doubles the edges."""
    atoms, _ = cases["benzene_box"]
    keyword = "" if model.endswith(".pt2") else f" precision {precision}"
    extra = """run 0
print "FIRST $(pe:%.16g)"
change_box all x scale 0.8 y scale 0.8 z scale 0.8 remap
"""
    results = {}
    for mode in ("yes", "no"):
        pair = (
            f"pair_style mlff/student device cuda cuda_graph {mode}{keyword}\n"
            f"pair_coeff * * {MODELS / model} C H"
        )
        out = single_point(tmp_path / mode, atoms, ["C", "H"], None, pair=pair, extra=extra)
        first = next(line for line in out.log.splitlines() if line.startswith("FIRST"))
        results[mode] = (float(first.split()[1]), out)
    (first_yes, yes), (first_no, no) = results["yes"], results["no"]
    rel = 1e-6 if precision == "fp32" else 1e-5  # the padded shapes may pick other kernels
    assert first_yes == pytest.approx(first_no, rel=rel)
    # Compressed to half the volume, the fixed-weight test model's features grow, and with them
    # fp16 rounding: measured 1.1e-5 apart on an H200. A wrong replay is off by far more.
    assert yes.energy == pytest.approx(no.energy, rel=rel if precision == "fp32" else 3e-5)
    assert yes.energy != pytest.approx(first_yes, rel=1e-3)  # the compression did change things
    if precision == "fp32":
        np.testing.assert_allclose(yes.forces, no.forces, atol=2e-4)
        np.testing.assert_allclose(yes.virial, no.virial, rtol=1e-4, atol=1e-3)
    else:  # fp16 rounds differently in other kernels; fp16 vs fp32 is about 1e-4 of the norm
        for name in ("forces", "virial"):
            a, b = getattr(yes, name), getattr(no, name)
            assert np.linalg.norm(a - b) / np.linalg.norm(b) < 1e-3, name


def test_a_package_for_another_gpu_is_refused_with_what_to_do(tmp_path):
    """A CUDA package holds kernels for one compute capability: another GPU may fail to load
    them or crash running them. The package records it, and the style checks before loading."""
    import json
    import zipfile

    from harness import header, run_lammps
    from mlff_student.data.systems import write_lammps_data

    package = MODELS / "seedarch_427k_cuda_fp32.pt2"
    with zipfile.ZipFile(package) as src:
        meta = next(
            json.loads(src.read(n))
            for n in src.namelist()
            if n.endswith("_metadata.json") and "format_version" in json.loads(src.read(n))
        )
    major, minor = torch.cuda.get_device_capability()
    assert meta["AOTI_COMPUTE_CAPABILITY"] == f"{major}{minor}"
    other = tmp_path / "other_gpu.pt2"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(other, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("_metadata.json") and b"format_version" in data:
                data = json.dumps({**json.loads(data), "AOTI_COMPUTE_CAPABILITY": "80"}).encode()
            dst.writestr(info, data)
    write_lammps_data(molecules()["benzene"], tmp_path / "system.data", ["C", "H"])
    pair = f"pair_style mlff/student device cuda\npair_coeff * * {other} C H"
    script = header("system.data", ["C", "H"], None, False, pair=pair) + "run 0\n"
    code, output = run_lammps(tmp_path, script, check=False)
    assert 0 < code < 128, output[-2000:]
    assert "was compiled for GPUs of compute capability 80, but this GPU" in output, output[-2000:]
