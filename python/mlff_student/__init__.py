"""Tooling for mlff-student: the student architecture, importers, and export for LAMMPS."""

from .deploy.export import export_torchscript, load_exported
from .model.loading import load_checkpoint, load_model, load_onnx, model_from_state
from .model.student import StudentConfig, StudentForceField

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
