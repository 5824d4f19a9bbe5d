"""The exported TorchScript module equals the reference model; MLFF-Distiller's checkpoints and
ONNX files load. The models are the test set-up's, of MLFF-Distiller's architecture
(tests/seed checks the importers on its own trained files)."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mlff_student import export_torchscript, load_checkpoint, load_exported, load_onnx
from mlff_student.data.systems import molecular_box, molecules
from mlff_student.integrations.ase_calculator import edges_of, evaluate

MODELS = Path(os.environ.get("MLFF_TEST_MODELS", "test_models"))


@pytest.fixture(scope="module", params=("seedarch_427k", "seedarch_77k"))
def model(request):
    return load_checkpoint(MODELS / f"{request.param}.ckpt")


def graph_inputs(atoms, dtype=torch.float64):
    """z, src, dst and edge vectors of the exported module's contract, periodic images included."""
    src, dst, shift = edges_of(atoms, 5.0)
    vec = torch.tensor(atoms.positions[src] + shift - atoms.positions[dst], dtype=dtype)
    return torch.tensor(atoms.numbers), torch.tensor(src), torch.tensor(dst), vec


@pytest.fixture
def exported64(model, tmp_path):
    path = tmp_path / "model.pt"
    export_torchscript(model, path, "float64")
    return load_exported(path)[0]


def exported_forces(module, atoms, dtype):
    """Energy and forces from the exported module's contract (edge gradients scattered)."""
    z, src, dst, vec = graph_inputs(atoms, dtype)
    e, g = module(z, src, dst, vec, torch.ones(len(atoms), dtype=dtype))
    g = g.double().numpy()
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, src.numpy(), -g)
    np.add.at(forces, dst.numpy(), g)
    return e.double().sum().item(), forces


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exported_module_matches_reference(model, dtype, tmp_path):
    path = tmp_path / "model.pt"
    export_torchscript(model, path, dtype)
    module, meta = load_exported(path)
    systems = molecules()
    systems["benzene_box"] = molecular_box(systems["benzene"], 2, 0.87, seed=1)
    for name, atoms in systems.items():
        ref = evaluate(model, atoms)
        energy, forces = exported_forces(module, atoms, getattr(torch, dtype))
        # 1e-5 relative is the contract; float64 files must do far better.
        rel = 1e-5 if dtype == "float32" else 1e-10
        assert energy == pytest.approx(ref["energy"], rel=rel), name
        force_error = np.linalg.norm(forces - ref["forces"]) / np.linalg.norm(ref["forces"])
        assert force_error < rel, name


def test_metadata_travels_in_the_file(model, tmp_path):
    path = tmp_path / "model.pt"
    export_torchscript(model, path)
    _, meta = load_exported(path)
    c = model.config
    assert meta["format_version"] == "2"
    assert float(meta["cutoff"]) == c.cutoff == 5.0
    assert int(meta["num_interactions"]) == c.num_interactions
    assert int(meta["max_z"]) == 100
    assert meta["dtype"] == "float32"


def test_energy_mask_selects_nodes(model, exported64):
    module = exported64
    atoms = molecules()["benzene"]
    args = graph_inputs(atoms)
    vec = args[3]
    mask = torch.zeros(len(atoms), dtype=torch.float64)
    mask[:3] = 1.0
    e_all, g_all = module(*args, torch.ones(len(atoms), dtype=torch.float64))
    e_part, g_part = module(*args, mask)
    torch.testing.assert_close(e_all, e_part)  # per-node energies do not depend on the mask
    assert not torch.allclose(g_all, g_part)
    vec2 = vec.clone().requires_grad_(True)
    expect = torch.autograd.grad(
        (model.double().node_energies(*args[:3], vec2) * mask).sum(), vec2
    )[0]
    torch.testing.assert_close(g_part, expect)


def test_onnx_import_rebuilds_the_model_from_its_weights(model, tmp_path):
    """An ONNX file laid out as MLFF-Distiller's: parameters as initializers named as in the state
    dict, the last block's mixing matrix pruned (the energy does not depend on it), no reference
    energies. The importer reads the initializers only; the graph here is empty."""
    import onnx
    from onnx import helper, numpy_helper

    last = model.config.num_interactions - 1
    dropped = {f"interactions.{last}.update.mixing_matrix", "atom_reference"}
    weights = [
        numpy_helper.from_array(v.numpy(), name=k)
        for k, v in model.state_dict().items()
        if k not in dropped
    ]
    graph = helper.make_graph([], "student", [], [], initializer=weights)
    onnx.save(helper.make_model(graph), tmp_path / "model.onnx")
    loaded = load_onnx(tmp_path / "model.onnx")
    assert loaded.config == model.config
    assert sum(p.numel() for p in loaded.parameters()) == sum(p.numel() for p in model.parameters())
    atoms = molecules()["celecoxib"]
    ref = evaluate(model, atoms)
    out = evaluate(loaded, atoms)
    assert out["energy"] == pytest.approx(ref["energy"], rel=1e-12)
    np.testing.assert_allclose(out["forces"], ref["forces"], atol=1e-10)


def test_distiller_checkpoint_loads_unchanged(model, tmp_path):
    c = model.config
    ckpt = {
        "model_state_dict": model.state_dict(),
        "config": {
            "hidden_dim": c.hidden_dim,
            "num_interactions": c.num_interactions,
            "num_rbf": c.num_rbf,
            "cutoff": c.cutoff,
            "max_z": c.max_z,
            "use_torch_cluster": False,
        },
        "num_parameters": sum(p.numel() for p in model.parameters()),
    }
    torch.save(ckpt, tmp_path / "full.pt")
    # Missing config keys are inferred from the tensor shapes.
    torch.save({"model_state_dict": model.state_dict(), "config": {}}, tmp_path / "bare.pt")
    atoms = molecules()["loratadine"]
    ref = evaluate(model, atoms)["energy"]
    for name in ("full.pt", "bare.pt"):
        loaded = load_checkpoint(tmp_path / name)
        assert loaded.config == c
        assert evaluate(loaded, atoms)["energy"] == pytest.approx(ref, rel=1e-12)


def test_checkpoint_with_foreign_parameters_is_refused(model, tmp_path):
    state = dict(model.state_dict())
    state["extra_head.weight"] = torch.zeros(3)
    torch.save({"model_state_dict": state, "config": {}}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="does not have"):
        load_checkpoint(tmp_path / "bad.pt")


def test_translation_and_permutation_invariance(model):
    atoms = molecules()["caffeine"]
    ref = evaluate(model, atoms)
    moved = atoms.copy()
    moved.positions += [3.0, -1.0, 7.5]
    perm = np.random.default_rng(0).permutation(len(atoms))
    shuffled = atoms[perm]
    assert evaluate(model, moved)["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    out = evaluate(model, shuffled)
    assert out["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    np.testing.assert_allclose(out["forces"], ref["forces"][perm], atol=1e-9)


def test_features_and_readout_compose_to_forward(exported64):
    """The halves the C++ runner uses under reduced precision give forward's energies."""
    atoms = molecules()["caffeine"]
    args = graph_inputs(atoms)
    energy, _ = exported64(*args, torch.ones(len(atoms), dtype=torch.float64))
    torch.testing.assert_close(exported64.readout(args[0], exported64.features(*args)), energy)


def test_exchange_entry_without_ghosts_equals_forward(exported64):
    """forward_exchange calls the ghost exchange operations, which leave the rows as they are in a
    process without the plugin: on a graph without ghosts it is forward."""
    atoms = molecular_box(molecules()["benzene"], 2, 0.87, seed=1)
    z, src, dst, vec = graph_inputs(atoms)
    mask = torch.ones(len(atoms), dtype=torch.float64)
    energy, grad = exported64(z, src, dst, vec, mask)
    energy_x, grad_x = exported64.forward_exchange(z, src, dst, vec, mask)
    torch.testing.assert_close(energy_x, energy, rtol=0, atol=0)
    torch.testing.assert_close(grad_x, grad, rtol=0, atol=0)
    code = exported64.forward_exchange.code + exported64.model.features.code
    assert "mlff_student.ghost_features" in code


def test_ghost_gradients_fold_what_ghost_features_copied():
    """The backward of ghost_features is ghost_gradients, as the plugin's C++ autograd has it."""
    s = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    s_out, v_out = torch.ops.mlff_student.ghost_features(s, v)
    (s_out.sum() * 2 + v_out.sum() * 3).backward()
    torch.testing.assert_close(s.grad, torch.full_like(s, 2.0))
    torch.testing.assert_close(v.grad, torch.full_like(v, 3.0))


def test_export_shows_no_deprecation_warning(tmp_path):
    """torch 2.15 deprecates torch.jit.script, save and interface; a user of `export` is told
    what that means in doc/model_format.md, not by three warnings at every call."""
    import subprocess
    import sys

    checkpoint = Path(__file__).resolve().parents[2] / "potentials" / "student_gfn2.ckpt"
    out = tmp_path / "model.pt"
    result = subprocess.run(
        [sys.executable, "-W", "default", "-m", "mlff_student", "export", str(checkpoint)]
        + ["-o", str(out), "--dtype", "float64"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "python")},
    )
    assert result.returncode == 0, result.stderr
    assert "deprecated" not in result.stderr, result.stderr
    assert "Warning" not in result.stderr, result.stderr
