"""device cuda against the float64 reference, per precision; skipped where there is no GPU."""

import numpy as np
import pytest
import torch

from harness import MODELS, model_file, single_point, elements_of, SEED
from mlff_student import load_onnx
from mlff_student.reference import evaluate
from mlff_student.systems import molecular_box, seed_molecules

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

# Bounds per precision: relative energy error, relative force error (norm over all atoms).
# Autocast covers the interaction blocks only; the readout stays fp32 (bench/README.md has the
# measured errors: about 0.03 meV/atom in fp16, 1.3 meV/atom in bf16, 0.5 meV/atom in tf32).
BOUNDS = {"fp32": (1e-6, 1e-5), "tf32": (2e-4, 1e-2), "fp16": (5e-5, 1e-2), "bf16": (5e-4, 5e-2)}


@pytest.fixture(scope="module")
def cases():
    benzene = seed_molecules(SEED)["benzene"]
    model = load_onnx(SEED / "models" / "student_427k.onnx")
    systems = {"druglike_50": seed_molecules(SEED)["druglike_50"],
               "benzene_box": molecular_box(benzene, 3, 0.87, seed=11)}
    return {name: (atoms, evaluate(model, atoms)) for name, atoms in systems.items()}


def check(out, ref, precision):
    e_rel, f_rel = BOUNDS[precision]
    assert out.energy == pytest.approx(ref["energy"], rel=e_rel)
    assert np.linalg.norm(out.forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < f_rel
    assert np.isfinite(out.virial).all()


@pytest.mark.parametrize("precision", list(BOUNDS))
@pytest.mark.parametrize("name", ["druglike_50", "benzene_box"])
def test_torchscript_on_cuda(cases, name, precision, tmp_path):
    atoms, ref = cases[name]
    out = single_point(
        tmp_path, atoms, elements_of(atoms), None,
        pair=f"pair_style mlff/student device cuda precision {precision}\n"
             f"pair_coeff * * {model_file('student_427k', 'float32')} {' '.join(elements_of(atoms))}")
    check(out, ref, precision)


@pytest.mark.parametrize("name", ["druglike_50", "benzene_box"])
def test_aoti_on_cuda(cases, name, tmp_path):
    atoms, ref = cases[name]
    out = single_point(tmp_path, atoms, elements_of(atoms), MODELS / "student_427k_cuda_fp32.pt2")
    check(out, ref, "fp32")


def test_two_ranks_share_one_gpu(cases, tmp_path):
    atoms, _ = cases["benzene_box"]
    pair = (f"pair_style mlff/student device cuda\n"
            f"pair_coeff * * {model_file('student_427k', 'float32')} C H")
    one = single_point(tmp_path / "one", atoms, ["C", "H"], None, pair=pair)
    two = single_point(tmp_path / "two", atoms, ["C", "H"], None, pair=pair, nprocs=2)
    assert two.energy == pytest.approx(one.energy, rel=1e-6)
    np.testing.assert_allclose(two.forces, one.forces, atol=1e-4)
