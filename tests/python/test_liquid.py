"""Liquid frames for distillation: the periodic teacher, the sampler, periodic training graphs, a
small end-to-end run with liquid frames, and the shipped condensed-phase model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import molecule

from mlff_student import load_checkpoint, load_exported
from mlff_student.data.liquid import RigidPacking, cell_length, kabsch, liquid_frames
from mlff_student.data.systems import random_rotation
from mlff_student.data.teacher import Teacher
from mlff_student.integrations.ase_calculator import evaluate
from mlff_student.model.student import StudentConfig, StudentForceField, all_pairs_within
from mlff_student.train.datasets import FRAME_KEYS, GraphSet, merge_datasets
from mlff_student.train.distill import main
from mlff_student.train.training import Training, batch_loss, predict, virial_error

POTENTIALS = Path(__file__).resolve().parents[2] / "potentials"
BENZENE = molecule("C6H6")


@pytest.fixture(scope="module")
def frames():
    return liquid_frames(BENZENE, molecules=4, density=0.87, temperature=300.0, count=2, seed=3)


def intermolecular_distances(atoms, molecules):
    owner = np.repeat(np.arange(molecules), len(atoms) // molecules)
    d = atoms.get_all_distances(mic=True)
    return d[owner[:, None] != owner[None, :]]


def test_frames_are_periodic_cells_at_the_density_with_whole_thermal_molecules(frames):
    length = cell_length(BENZENE, 4, 0.87)
    for atoms in frames:
        assert atoms.pbc.all() and np.allclose(atoms.cell.lengths(), length)
        mass = atoms.get_masses().sum() / 6.02214076e23
        assert mass / atoms.get_volume() * 1e24 == pytest.approx(0.87, rel=1e-9)
        assert intermolecular_distances(atoms, 4).min() >= 1.5
        # Each molecule keeps benzene's bonds, spread by the teacher's thermal motion.
        for m in range(4):
            ring = atoms[m * 12 : m * 12 + 6]
            cc = np.sort(ring.get_all_distances(mic=True), axis=1)[:, 1:3]
            assert np.all((cc > 1.30) & (cc < 1.50))
            assert np.std(cc) > 1e-3


def test_one_frame_of_more_molecules_than_four():
    (atoms,) = liquid_frames(BENZENE, molecules=8, density=0.87, temperature=300.0, count=1, seed=5)
    assert len(atoms) == 96 and intermolecular_distances(atoms, 8).min() >= 1.5


def test_packing_moves_keep_molecules_rigid_and_tune_acceptance():
    rng = np.random.default_rng(0)
    packing = RigidPacking(BENZENE, 4, cell_length(BENZENE, 4, 0.87), 300.0, rng)
    packing.equilibrate(60)
    shape = BENZENE.get_all_distances()
    for i in range(4):
        pos = packing.atoms_of(i)
        assert np.allclose(np.linalg.norm(pos[:, None] - pos[None], axis=-1), shape)
    assert 0.15 < np.mean([packing.sweep() for _ in range(40)]) < 0.75


def test_packing_refuses_elements_without_parameters():
    with pytest.raises(ValueError, match="no packing parameters"):
        RigidPacking(molecule("CH3OH"), 4, 10.0, 300.0, np.random.default_rng(0))


def test_kabsch_recovers_a_rotation():
    rng = np.random.default_rng(1)
    body = BENZENE.positions - BENZENE.positions.mean(axis=0)
    rot = random_rotation(rng)
    assert np.allclose((body @ rot.T) @ kabsch(body @ rot.T, body).T, body, atol=1e-10)


def test_periodic_teacher_forces_are_minus_the_energy_gradient(frames):
    atoms = frames[0]
    teacher = Teacher(atoms.numbers, atoms.positions, np.asarray(atoms.cell))
    _, forces = teacher(atoms.positions)
    h = 1e-4
    plus, minus = atoms.positions.copy(), atoms.positions.copy()
    plus[5, 1] += h
    minus[5, 1] -= h
    numeric = -(teacher(plus)[0] - teacher(minus)[0]) / (2 * h)
    assert forces[5, 1] == pytest.approx(numeric, abs=2e-4)
    assert abs(forces.sum(axis=0)).max() < 1e-6  # translation invariance of a periodic cell


def test_periodic_teacher_virial_is_minus_the_strain_derivative(frames):
    atoms = frames[0]
    cell = np.asarray(atoms.cell)
    _, _, virial = Teacher(atoms.numbers, atoms.positions, cell).label(atoms.positions)
    assert np.allclose(virial, virial.T, atol=1e-8)
    h = 1e-4
    for i, j in [(0, 0), (1, 2)]:
        energies = []
        for step in (h, -h):
            strain = np.eye(3)
            strain[i, j] += step / 2
            strain[j, i] += step / 2
            strained = atoms.positions @ strain.T
            energies.append(Teacher(atoms.numbers, strained, cell @ strain.T)(strained)[0])
        assert virial[i, j] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-3)
    assert Teacher(atoms.numbers[:12], atoms.positions[:12]).label(atoms.positions[:12])[2] is None


def test_virial_errors_leave_out_frames_without_a_teacher_virial():
    b = {
        "virial": torch.tensor(np.stack([np.eye(3), np.full((3, 3), np.nan), 2 * np.eye(3)])),
        "natoms": torch.tensor([2, 3, 4]),
    }
    error = virial_error(torch.zeros(3, 3, 3), b)
    assert error.shape == (2, 9)
    assert torch.allclose(error[1], -torch.eye(3, dtype=torch.float64).flatten() / 2)
    data = merge_datasets(
        [
            {k: np.zeros((1, 3)) if k != "natoms" else np.array([1]) for k in FRAME_KEYS},
            {
                **{k: np.zeros((1, 3)) if k != "natoms" else np.array([1]) for k in FRAME_KEYS},
                "cell": 5 * np.eye(3)[None],
                "virial": np.ones((1, 3, 3)),
            },
        ]
    )
    assert np.isnan(data["virial"][0]).all() and (data["virial"][1] == 1).all()


def tiny_model(seed: int = 0) -> StudentForceField:
    torch.manual_seed(seed)
    return StudentForceField(
        StudentConfig(
            hidden_dim=16, num_interactions=2, num_rbf=8, mixing="channel", smooth_cutoff=True
        )
    )


def test_the_training_loss_weighs_virial_errors_per_atom(frames):
    """The loss grows by the weight times the mean squared virial error per atom over the
    batch's frames, and leaves out frames without a teacher virial."""
    model = tiny_model()
    n = len(frames[0])
    data = {
        "natoms": np.array([n, n]),
        "numbers": np.concatenate([a.numbers for a in frames]),
        "positions": np.concatenate([a.positions for a in frames]),
        "energy": np.zeros(2),
        "forces": np.zeros((2 * n, 3)),
        "cell": np.array([np.asarray(a.cell) for a in frames]),
    }
    b = GraphSet(data, model.cutoff, torch.device("cpu")).batch(np.arange(2))
    training = Training(virial_weight=3.0)
    without = batch_loss(model, b, training).item()
    _, _, virial = predict(model, b, create_graph=False)
    labels = virial.detach().double().clone()
    labels[0] += 0.5 * n  # 0.5 eV per atom on every component of the first frame only
    b["virial"] = labels
    expected = without + 3.0 * 0.5**2 / 2
    assert batch_loss(model, b, training).item() == pytest.approx(expected, rel=1e-4)
    labels[0] = np.nan
    assert batch_loss(model, b, training).item() == pytest.approx(without, rel=1e-6)


def test_periodic_training_graphs_give_the_reference_energies_and_forces(frames):
    torch.manual_seed(0)
    model = StudentForceField(
        StudentConfig(
            hidden_dim=16, num_interactions=2, num_rbf=8, mixing="channel", smooth_cutoff=True
        )
    )
    data = {
        "natoms": np.array([len(a) for a in frames]),
        "numbers": np.concatenate([a.numbers for a in frames]),
        "positions": np.concatenate([a.positions for a in frames]).astype(np.float32),
        "forces": np.zeros((sum(len(a) for a in frames), 3)),
        "energy": np.zeros(len(frames)),
        "cell": np.array([np.asarray(a.cell) for a in frames]),
    }
    graphs = GraphSet(data, model.cutoff, torch.device("cpu"))
    energy, forces, virial = predict(
        model, graphs.batch(np.arange(len(frames))), create_graph=False
    )
    for k, atoms in enumerate(frames):
        atoms = atoms.copy()
        atoms.positions = data["positions"][k * len(atoms) : (k + 1) * len(atoms)]
        ref = evaluate(model.double(), atoms)
        model.float()
        assert energy[k].item() == pytest.approx(ref["energy"], rel=1e-5)
        got = forces[k * len(atoms) : (k + 1) * len(atoms)].detach().numpy()
        assert np.abs(got - ref["forces"]).max() < 1e-4
        w = virial[k].detach().numpy()
        voigt = [w[0, 0], w[1, 1], w[2, 2], w[0, 1], w[0, 2], w[1, 2]]
        assert np.allclose(voigt, ref["virial"], rtol=1e-4, atol=1e-4)


def test_distill_trains_on_molecules_and_liquid_frames_together(tmp_path, distill_args):
    """A tiny end-to-end run: liquid chains are sampled, labelled and kept per chain, then trained
    on with molecules; the record reports each held-out set."""
    args = distill_args(
        out=str(tmp_path / "tiny"),
        dataset=str(tmp_path / "gas.npz"),
        liquid_dataset=str(tmp_path / "liquid.npz"),
        liquid_frames=2,
        liquid_densities="0.84,0.87,0.90",
        virial_weight=10.0,
        molecules="H2O,CH4",
        temperatures="300",
        frames=2,
        displaced=0,
        workers=1,
        device="cpu",
        epochs=1,
        batch_size=4,
        lr=1e-3,
        hidden_dim=8,
        interactions=1,
        num_rbf=4,
        cutoff=4.0,
        mixing="channel",
        seed=0,
    )
    main(args)
    liquid = np.load(tmp_path / "liquid.npz")
    assert len(liquid["natoms"]) == 2 and liquid["cell"].any(axis=(1, 2)).all()
    assert np.isfinite(liquid["virial"]).all() and liquid["virial"].shape == (2, 3, 3)
    assert not (tmp_path / "liquid.partial.npz").exists()
    record = json.loads((tmp_path / "tiny.json").read_text())
    assert record["liquid_frames"] == 2 and record["liquid_sampling"]["molecule"] == "C6H6"
    assert record["liquid_sampling"]["densities"] == [0.84, 0.87, 0.90]
    assert record["train_frames"] + record["validation_frames"] == 4 + 2
    # Going on from the checkpoint keeps its architecture, whatever the options say.
    args.out, args.start_from, args.hidden_dim = str(tmp_path / "more"), args.out + ".ckpt", 32
    main(args)
    record = json.loads((tmp_path / "more.json").read_text())
    assert record["config"]["hidden_dim"] == 8 and record["start_from"].endswith("tiny.ckpt")


def test_the_shipped_liquid_model():
    """potentials/student_gfn2_liquid: the seed's size, channel mixing, smooth cutoff, its card's
    held-out numbers, and the teacher's energy of a liquid cell."""
    model = load_checkpoint(POTENTIALS / "student_gfn2_liquid.ckpt")
    config = model.config
    assert (config.hidden_dim, config.num_interactions, config.cutoff) == (128, 3, 5.0)
    assert config.mixing == "channel" and config.smooth_cutoff
    record = json.loads((POTENTIALS / "student_gfn2_liquid.json").read_text())
    assert record["liquid_test"]["force_rmse_eV_per_A"] < 0.15
    assert record["test"]["force_rmse_eV_per_A"] < 0.15
    module, meta = load_exported(POTENTIALS / "student_gfn2_liquid.pt")
    assert meta["elements"] == "H,C,N,O,F,S,Cl"
    z, pos = torch.tensor(BENZENE.numbers), torch.tensor(BENZENE.positions, dtype=torch.float32)
    src, dst = all_pairs_within(pos, model.cutoff)
    node, _ = module(z, src, dst, pos[src] - pos[dst], torch.ones(len(z)))
    assert node.sum().item() == pytest.approx(model.float()(z, pos).item(), rel=1e-6)
    atoms = liquid_frames(BENZENE, molecules=4, density=0.87, temperature=300.0, count=1, seed=11)[
        0
    ]
    predicted = evaluate(model.double(), atoms)["energy"]
    teacher_energy, _ = Teacher(atoms.numbers, atoms.positions, np.asarray(atoms.cell))(
        atoms.positions
    )
    assert predicted == pytest.approx(teacher_energy, abs=0.02 * len(atoms))
