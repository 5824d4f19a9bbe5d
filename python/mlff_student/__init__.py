"""Tooling for mlff-student: the student architecture, importers, and export for LAMMPS."""

from .io import load_checkpoint, load_model, load_onnx, model_from_state
from .model import StudentConfig, StudentForceField
from .export import export_torchscript, load_exported

__all__ = [
    "StudentConfig",
    "StudentForceField",
    "export_torchscript",
    "load_checkpoint",
    "load_exported",
    "load_model",
    "load_onnx",
    "model_from_state",
]
