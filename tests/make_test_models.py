"""Exports the seed's models for the tests: python make_test_models.py SEED_DIR OUT_DIR.

Writes student_427k and tiny_77k in float32 and float64, plus the broken files the error tests
need (a corrupt file, a TorchScript module without metadata).
"""

import sys
from pathlib import Path

import torch

from mlff_student import export_torchscript, load_onnx


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


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
