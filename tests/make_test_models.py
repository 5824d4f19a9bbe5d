"""Makes the model files the tests run.

    python make_test_models.py OUT_DIR          the test models, from the repository alone
    python make_test_models.py --seed OUT_DIR   MLFF-Distiller's trained models, exported from the
                                                ONNX files in $MLFF_SEED_DIR/models (skipped,
                                                and said so, when MLFF_SEED_DIR is not set)

The test models are MLFF-Distiller's student architecture in the two configurations of its trained
models, student_427k and tiny_77k (Cartesian mixing, the original cutoff), with fixed random
weights: seedarch_427k and seedarch_77k. Each is written as an MLFF-Distiller checkpoint
(`<name>.ckpt`, the Python reference of the tests) and as TorchScript in float32 and float64, with
its float64 reference energy of benzene for the C++ tests (`<name>_benzene_energy.txt`). The shipped
default model (potentials/student_gfn2) is written in float64 for the exact dynamics tests. AOT
Inductor packages: seedarch_77k and student_gfn2 for the CPU (and, where CUDA is available,
seedarch_427k for the GPU). Also the broken files the error tests need (a corrupt file, a
TorchScript module without metadata). Packages take minutes to compile, so they are rebuilt only
when the package code or the weights are newer.
"""

import os
import sys
from pathlib import Path

import torch
from ase.build import molecule

import mlff_student
from mlff_student import (
    StudentConfig,
    StudentForceField,
    export_torchscript,
    load_checkpoint,
    load_onnx,
)
from mlff_student.deploy.compile import compile_aoti
from mlff_student.integrations.ase_calculator import evaluate

SHIPPED = Path(__file__).resolve().parents[1] / "potentials" / "student_gfn2.ckpt"
SEED_ARCHITECTURES = {
    "seedarch_427k": StudentConfig(
        hidden_dim=128, num_interactions=3, num_rbf=20, cutoff=5.0, max_z=100
    ),
    "seedarch_77k": StudentConfig(
        hidden_dim=64, num_interactions=2, num_rbf=12, cutoff=5.0, max_z=100
    ),
}


def seed_architecture(config: StudentConfig) -> StudentForceField:
    """PyTorch's default initialisation, made deterministic, then scaled to a trained student's
    sizes. With the default scale each message block adds its filter's same-signed part over all
    of an atom's neighbours (about 40 in the liquid), so the features triple per block (rms 15
    after three blocks, where MLFF-Distiller's trained 427K model stays near 1) and reduced
    precisions lose ten times more to rounding than with a trained model. The filters' last layer
    x0.3 keeps the features near rms 1.4; the readout's last layer x50 and a bias of -5 eV then
    give -6 to -10 eV per atom and forces up to 1-2 eV/Å, as a trained model's. The Cartesian
    mixing matrices get random parts, so that mixing is not the identity."""
    torch.manual_seed(0)
    model = StudentForceField(config)
    with torch.no_grad():
        for block in model.interactions:
            block.update.mixing_matrix.add_(0.3 * torch.randn(3, 3))
            block.message.rbf_to_scalar[-1].weight.mul_(0.3)
            block.message.rbf_to_scalar[-1].bias.mul_(0.3)
        model.energy_head[-1].weight.mul_(50.0)
        model.energy_head[-1].bias.fill_(-5.0)
    return model.eval()


def write_checkpoint(model: StudentForceField, path: Path) -> None:
    """In MLFF-Distiller's format. An unchanged file is left alone: its time stamp decides whether
    the AOTI packages made from it are rebuilt."""
    state = model.state_dict()
    if path.exists():
        old = load_checkpoint(path).state_dict()
        if old.keys() == state.keys() and all(torch.equal(old[k], state[k]) for k in state):
            return
    c = model.config
    config = {
        "hidden_dim": c.hidden_dim,
        "num_interactions": c.num_interactions,
        "num_rbf": c.num_rbf,
        "cutoff": c.cutoff,
        "max_z": c.max_z,
    }
    torch.save({"model_state_dict": state, "config": config}, path)


def stale(target: Path, *sources: Path) -> bool:
    if not target.exists():
        return True
    code = Path(mlff_student.__file__).parent.rglob("*.py")
    return any(p.stat().st_mtime > target.stat().st_mtime for p in (*sources, *code))


def write_test_models(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, config in SEED_ARCHITECTURES.items():
        write_checkpoint(seed_architecture(config), out / f"{name}.ckpt")
        model = load_checkpoint(out / f"{name}.ckpt")
        for dtype in ("float32", "float64"):
            export_torchscript(model, out / f"{name}_{dtype}.pt", dtype)
        energy = evaluate(model, molecule("C6H6"))["energy"]
        (out / f"{name}_benzene_energy.txt").write_text(f"{energy:.17g}\n")
    export_torchscript(load_checkpoint(SHIPPED), out / "student_gfn2_float64.pt", "float64")
    # Truncated halfway: what an interrupted copy leaves behind.
    good = (out / "seedarch_77k_float32.pt").read_bytes()
    (out / "corrupt.pt").write_bytes(good[: len(good) // 2])
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), str(out / "no_metadata.pt"))
    packages = [
        ("seedarch_77k", "cpu", out / "seedarch_77k.ckpt"),
        ("student_gfn2", "cpu", SHIPPED),
    ]
    if torch.cuda.is_available():
        packages.append(("seedarch_427k", "cuda", out / "seedarch_427k.ckpt"))
    for name, device, source in packages:
        target = out / f"{name}_{device}_fp32.pt2"
        if stale(target, source):
            compile_aoti(load_checkpoint(source), target, device, "fp32")


def write_seed_models(out: Path) -> None:
    seed = os.environ.get("MLFF_SEED_DIR")
    if not seed:
        print("SKIPPED: MLFF_SEED_DIR is not set (the directory of MLFF-Distiller's models/*.onnx)")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in ("student_427k", "tiny_77k"):
        model = load_onnx(Path(seed) / "models" / f"{name}.onnx")
        for dtype in ("float32", "float64"):
            export_torchscript(model, out / f"{name}_{dtype}.pt", dtype)


if __name__ == "__main__":
    if sys.argv[1] == "--seed":
        write_seed_models(Path(sys.argv[2]))
    else:
        write_test_models(Path(sys.argv[1]))
