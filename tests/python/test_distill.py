"""Distillation from GFN2-xTB: the teacher's units, the batching, the reference energies, the
rotation behaviour of both mixings, a small end-to-end run, and the shipped default model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import molecule

from mlff_student import load_checkpoint, load_exported
from mlff_student.data.systems import random_rotation
from mlff_student.data.teacher import Teacher
from mlff_student.model.student import StudentConfig, StudentForceField, all_pairs_within
from mlff_student.train.datasets import GraphSet
from mlff_student.train.distill import main
from mlff_student.train.sampling import training_molecules
from mlff_student.train.training import fit_reference_energies, predict

POTENTIALS = Path(__file__).resolve().parents[2] / "potentials"


def test_teacher_forces_are_minus_the_energy_gradient_in_ev_per_angstrom():
    atoms = molecule("CH3Cl")
    teacher = Teacher(atoms.numbers, atoms.positions)
    _, forces = teacher(atoms.positions)
    h = 1e-4
    for atom, axis in [(0, 0), (1, 2), (4, 1)]:
        plus, minus = atoms.positions.copy(), atoms.positions.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        numeric = -(teacher(plus)[0] - teacher(minus)[0]) / (2 * h)
        assert forces[atom, axis] == pytest.approx(numeric, abs=2e-4)


def test_training_set_has_only_the_seed_elements_and_closed_shells():
    molecules = training_molecules()
    assert {"C6H6", "C5H5N", "C4H4S", "CH3CONH2", "CH3Cl", "CF4"} <= set(molecules)
    for name, atoms in molecules.items():
        assert set(atoms.get_chemical_symbols()) <= {"H", "C", "N", "O", "F", "S", "Cl"}, name
        assert sum(atoms.numbers) % 2 == 0, name


def frames(n_configs: int, seed: int = 0) -> dict:
    """Randomly perturbed copies of three molecules, labelled with zeros."""
    rng = np.random.default_rng(seed)
    mols = [molecule(n) for n in ("C6H6", "CH3OH", "H2O")]
    picked = [mols[k % 3] for k in range(n_configs)]
    return {
        "natoms": np.array([len(a) for a in picked]),
        "numbers": np.concatenate([a.numbers for a in picked]),
        # float32 values, as GraphSet keeps coordinates
        "positions": np.concatenate(
            [a.positions + rng.normal(0, 0.05, (len(a), 3)) for a in picked]
        )
        .astype(np.float32)
        .astype(np.float64),
        "forces": np.zeros((sum(len(a) for a in picked), 3)),
        "energy": np.zeros(n_configs),
    }


def test_a_batch_gives_what_each_molecule_gives_alone():
    data = frames(5)
    model = StudentForceField(StudentConfig(hidden_dim=16, num_interactions=2)).double()
    graphs = GraphSet(data, 5.0, torch.device("cpu"))
    graphs.positions = graphs.positions.double()
    energy, forces, _ = predict(model, graphs.batch(np.array([4, 1, 2])), create_graph=False)
    start = np.concatenate([[0], np.cumsum(data["natoms"])])
    done = 0
    for slot, c in enumerate([4, 1, 2]):
        z = torch.tensor(data["numbers"][start[c] : start[c + 1]])
        pos = torch.tensor(data["positions"][start[c] : start[c + 1]]).requires_grad_(True)
        alone = model(z, pos)
        (grad,) = torch.autograd.grad(alone, pos)
        assert energy[slot].item() == pytest.approx(alone.item(), rel=1e-12)
        np.testing.assert_allclose(forces[done : done + len(z)].numpy(), -grad.numpy(), atol=1e-12)
        done += len(z)


def test_reference_energies_recover_a_composition_model():
    data = frames(30)
    truth = {1: -10.7, 6: -48.2, 8: -102.5}
    start = np.concatenate([[0], np.cumsum(data["natoms"])])
    data["energy"] = np.array(
        [sum(truth[z] for z in data["numbers"][start[c] : start[c + 1]]) for c in range(30)]
    )
    reference = fit_reference_energies(data, np.arange(30), 100)
    for z, e in truth.items():
        assert reference[z] == pytest.approx(e, abs=1e-8)
    assert np.count_nonzero(reference) == 3


@pytest.mark.parametrize("mixing", ["cartesian", "channel"])
def test_only_channel_mixing_is_rotation_invariant(mixing):
    torch.manual_seed(1)
    model = StudentForceField(StudentConfig(hidden_dim=16, mixing=mixing)).double()
    with torch.no_grad():  # trained mixings are far from the identity at which they start
        for block in model.interactions:
            p = block.update.channel_mixing if mixing == "channel" else block.update.mixing_matrix
            p.normal_()
    atoms = molecule("C5H5N")
    z, pos = torch.tensor(atoms.numbers), torch.tensor(atoms.positions)
    rot = torch.tensor(random_rotation(np.random.default_rng(3)))
    change = abs(model(z, pos @ rot.T).item() - model(z, pos).item())
    if mixing == "channel":
        assert change < 1e-10
    else:
        assert change > 1e-6


def test_distill_end_to_end_on_cpu(tmp_path, distill_args):
    """Samples two molecules with the teacher, trains a small student, writes the three files;
    the plugin's file computes what the checkpoint computes."""
    args = distill_args(
        out=str(tmp_path / "tiny"),
        dataset=str(tmp_path / "train.npz"),
        test_dataset=str(tmp_path / "test.npz"),
        molecules="CH3OH,H2O",
        temperatures="300",
        frames=4,
        displaced=2,
        workers=2,
        device="cpu",
        epochs=3,
        batch_size=4,
        lr=2e-3,
        hidden_dim=16,
        interactions=2,
        num_rbf=8,
        cutoff=4.0,
        mixing="channel",
        seed=0,
        liquid_densities="0.84,0.87,0.90",
        virial_weight=10.0,
    )
    assert main(args) == 0
    data = np.load(tmp_path / "train.npz")
    assert len(data["natoms"]) == 2 * (4 + 2)
    record = json.loads((tmp_path / "tiny.json").read_text())
    assert record["epochs"] == 3 and len(record["history"]) == 3
    assert record["test_frames"] == 2 * (1 + 0)
    assert record["config"]["mixing"] == "channel"
    assert all(np.isfinite(v) for v in record["test"].values())
    model = load_checkpoint(tmp_path / "tiny.ckpt")
    assert model.config.mixing == "channel" and model.config.cutoff == 4.0
    assert model.config.elements == ("H", "C", "O")  # the trained elements, by atomic number
    # The per-element energies carry the teacher's scale: water's composition gives its energy.
    water = data["energy"][data["natoms"] == 3].mean()
    ref = model.atom_reference.double()
    assert (2 * ref[1] + ref[8]).item() == pytest.approx(water, abs=0.5)
    check_exported_equals_checkpoint(model, tmp_path / "tiny.pt")


def check_exported_equals_checkpoint(model, path):
    module, meta = load_exported(path)
    assert meta["mixing"] == model.config.mixing
    atoms = molecule("CH3CH2OH")
    pos = torch.tensor(atoms.positions, dtype=torch.float32)
    z = torch.tensor(atoms.numbers)
    src, dst = all_pairs_within(pos, model.cutoff)
    node, grad = module(z, src, dst, pos[src] - pos[dst], torch.ones(len(z)))
    assert node.sum().item() == pytest.approx(model.float()(z, pos).item(), rel=1e-6)
    assert torch.isfinite(grad).all()


def test_the_shipped_default_model():
    """potentials/student_gfn2: checkpoint and plugin file agree, and its card's numbers hold."""
    model = load_checkpoint(POTENTIALS / "student_gfn2.ckpt")
    check_exported_equals_checkpoint(model, POTENTIALS / "student_gfn2.pt")
    record = json.loads((POTENTIALS / "student_gfn2.json").read_text())
    assert record["test"]["force_rmse_eV_per_A"] < 0.1
    assert record["test"]["energy_mae_meV_per_atom"] < 10
    # Benzene at ASE's geometry (not the teacher's minimum) against the teacher: about 18 meV/atom.
    atoms = molecule("C6H6")
    energy = model.float()(torch.tensor(atoms.numbers), torch.tensor(atoms.positions).float())
    teacher_energy, _ = Teacher(atoms.numbers, atoms.positions)(atoms.positions)
    assert energy.item() == pytest.approx(teacher_energy, abs=0.03 * len(atoms))


def pair_energy_jump(model, z1: int, z2: int) -> float:
    """E(rc - 1e-4) - E(rc + 1e-4) of a pair: what crossing the cutoff does to the energy."""
    model = model.double()
    z = torch.tensor([z1, z2])

    def at(d):
        return model(z, torch.tensor([[0.0, 0, 0], [d, 0, 0]], dtype=torch.float64)).item()

    return at(model.cutoff - 1e-4) - at(model.cutoff + 1e-4)


def test_smooth_cutoff_removes_the_energy_jump_at_the_cutoff():
    """The same weights with the original cutoff and with the smooth one (tests/seed: the jump of
    MLFF-Distiller's trained 427K model)."""
    torch.manual_seed(0)
    original = StudentForceField(StudentConfig(hidden_dim=16))
    smooth = StudentForceField(StudentConfig(hidden_dim=16, smooth_cutoff=True))
    smooth.load_state_dict(original.state_dict())
    assert abs(pair_energy_jump(original, 6, 1)) > 1e-3  # the original architecture's trap
    assert abs(pair_energy_jump(smooth, 6, 1)) < 1e-8
    shipped = load_checkpoint(POTENTIALS / "student_gfn2.ckpt")
    assert shipped.config.smooth_cutoff
    for z1, z2 in [(1, 1), (6, 1), (6, 6), (8, 7), (17, 16)]:
        assert abs(pair_energy_jump(shipped, z1, z2)) < 1e-6
