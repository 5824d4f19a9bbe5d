"""Exports the seed's models for the tests: python make_test_models.py SEED_DIR OUT_DIR.

Writes student_427k and tiny_77k in float32 and float64, AOTInductor packages of tiny_77k and
of the shipped default model (potentials/student_gfn2) for the CPU (and, where CUDA is available,
of student_427k for the GPU), plus the broken files the error tests need (a corrupt file, a
TorchScript module without metadata). Packages take minutes to compile, so they are rebuilt only
when the package code or the weights are newer.
"""

import sys
from pathlib import Path

import torch

import mlff_student
from mlff_student import export_torchscript, load_checkpoint, load_onnx
from mlff_student.compile import compile_aoti


def stale(target: Path, *sources: Path) -> bool:
    if not target.exists():
        return True
    code = Path(mlff_student.__file__).parent.glob("*.py")
    return any(p.stat().st_mtime > target.stat().st_mtime for p in (*sources, *code))


def main(seed: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("student_427k", "tiny_77k"):
        for dtype in ("float32", "float64"):
            model = load_onnx(seed / "models" / f"{name}.onnx")
            export_torchscript(model, out / f"{name}_{dtype}.pt", dtype)
    # Truncated halfway: what an interrupted copy leaves behind.
    good = (out / "tiny_77k_float32.pt").read_bytes()
    (out / "corrupt.pt").write_bytes(good[: len(good) // 2])
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), str(out / "no_metadata.pt"))
    shipped = Path(__file__).resolve().parents[1] / "potentials" / "student_gfn2.ckpt"
    packages = [("tiny_77k", "cpu", seed / "models" / "tiny_77k.onnx"), ("student_gfn2", "cpu", shipped)]
    if torch.cuda.is_available():
        packages.append(("student_427k", "cuda", seed / "models" / "student_427k.onnx"))
    for name, device, source in packages:
        target = out / f"{name}_{device}_fp32.pt2"
        if stale(target, source):
            model = load_onnx(source) if source.suffix == ".onnx" else load_checkpoint(source)
            compile_aoti(model, target, device, "fp32")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
