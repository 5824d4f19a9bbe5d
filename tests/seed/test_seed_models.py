"""MLFF-Distiller's trained students from its ONNX files: the importer rebuilds them (their known
parameter counts and the 427K model's energy of benzene), checkpoints of them load unchanged, the
exported TorchScript module equals the Python reference, and the original cutoff's energy jump is
as large as model/student.py says."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mlff_student import export_torchscript, load_checkpoint, load_exported, load_onnx
from mlff_student.data.systems import molecular_box, molecules
from mlff_student.integrations.ase_calculator import edges_of, evaluate

SEED = Path(os.environ.get("MLFF_SEED_DIR", ""))
PARAMETERS = {"student_427k": 427_292, "tiny_77k": 77_203}


@pytest.fixture(scope="module", params=list(PARAMETERS))
def seed_model(request):
    return request.param, load_onnx(SEED / "models" / f"{request.param}.onnx")


def test_onnx_import_gives_the_known_models(seed_model):
    name, model = seed_model
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS[name]
    if name == "student_427k":
        assert evaluate(model, molecules()["benzene"])["energy"] == pytest.approx(
            -76.0533, abs=1e-4
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exported_module_matches_reference(seed_model, dtype, tmp_path):
    _, model = seed_model
    export_torchscript(model, tmp_path / "model.pt", dtype)
    module, _ = load_exported(tmp_path / "model.pt")
    systems = molecules()
    systems["benzene_box"] = molecular_box(systems["benzene"], 2, 0.87, seed=1)
    for name, atoms in systems.items():
        ref = evaluate(model, atoms)
        src, dst, shift = edges_of(atoms, model.cutoff)
        t = getattr(torch, dtype)
        vec = torch.tensor(atoms.positions[src] + shift - atoms.positions[dst], dtype=t)
        energies, grad = module(
            torch.tensor(atoms.numbers),
            torch.tensor(src),
            torch.tensor(dst),
            vec,
            torch.ones(len(atoms), dtype=t),
        )
        forces = np.zeros((len(atoms), 3))
        np.add.at(forces, src, -grad.double().numpy())
        np.add.at(forces, dst, grad.double().numpy())
        rel = 1e-5 if dtype == "float32" else 1e-10
        assert energies.double().sum().item() == pytest.approx(ref["energy"], rel=rel), name
        assert np.linalg.norm(forces - ref["forces"]) / np.linalg.norm(ref["forces"]) < rel, name


def test_checkpoint_of_a_seed_model_loads_unchanged(seed_model, tmp_path):
    _, model = seed_model
    c = model.config
    config = {
        "hidden_dim": c.hidden_dim,
        "num_interactions": c.num_interactions,
        "num_rbf": c.num_rbf,
        "cutoff": c.cutoff,
        "max_z": c.max_z,
        "use_torch_cluster": False,
    }
    torch.save({"model_state_dict": model.state_dict(), "config": config}, tmp_path / "ckpt.pt")
    loaded = load_checkpoint(tmp_path / "ckpt.pt")
    assert loaded.config == c
    atoms = molecules()["loratadine"]
    assert evaluate(loaded, atoms)["energy"] == pytest.approx(
        evaluate(model, atoms)["energy"], rel=1e-12
    )


def test_original_cutoff_makes_the_energy_jump():
    """What the smooth cutoff exists for: a C-H pair crossing 5 Å changes the 427K model's energy
    by a tenth of an eV or more."""
    model = load_onnx(SEED / "models" / "student_427k.onnx").double()
    z = torch.tensor([6, 1])

    def energy(d):
        return model(z, torch.tensor([[0.0, 0, 0], [d, 0, 0]], dtype=torch.float64)).item()

    assert abs(energy(model.cutoff - 1e-4) - energy(model.cutoff + 1e-4)) > 0.1
