"""Building a StudentForceField from an MLFF-Distiller checkpoint or from the seed's ONNX files."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import InputError, readable_file
from .student import StudentConfig, StudentForceField

DEFAULT_CUTOFF = 5.0
# What export, compile and mliap read, for the messages that say what to give instead.
SOURCE = "an MLFF-Distiller checkpoint (.pt/.pth/.ckpt, saved with torch.save) or a seed ONNX file"


def _strip_prefix(state: dict) -> dict:
    """Drops a wrapper prefix such as 'model.' so that keys start at 'embedding.'."""
    key = next((k for k in state if k.endswith("embedding.weight")), None)
    if key is None:
        raise ValueError(
            "no 'embedding.weight' among the parameters: not a student model; give a checkpoint "
            "of the student architecture"
        )
    prefix = key[: -len("embedding.weight")]
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def config_from_state(state: dict, config: dict | None = None) -> StudentConfig:
    """Fills the config keys a checkpoint lacks from the tensor shapes, as the original does."""
    config = dict(config or {})
    emb = state["embedding.weight"]
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"interactions\.(\d+)\.", k))}
    try:
        return StudentConfig(
            hidden_dim=int(config.get("hidden_dim", emb.shape[1])),
            num_interactions=int(config.get("num_interactions", len(blocks))),
            num_rbf=int(config.get("num_rbf", state["rbf.centers"].shape[0])),
            cutoff=float(config.get("cutoff", DEFAULT_CUTOFF)),
            max_z=int(config.get("max_z", emb.shape[0] - 1)),
            mixing=str(
                config.get(
                    "mixing",
                    "channel" if any(k.endswith("channel_mixing") for k in state) else "cartesian",
                )
            ),
            smooth_cutoff=bool(config.get("smooth_cutoff", False)),
            elements=tuple(config.get("elements", ())),
        )
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"its config describes no model pair_style mlff/student can run: {err}; correct the "
            "config where the checkpoint was made"
        ) from None


def model_from_state(state: dict, config: dict | None = None) -> StudentForceField:
    state = {k: torch.as_tensor(v) for k, v in _strip_prefix(state).items()}
    model = StudentForceField(config_from_state(state, config))
    expected = model.state_dict()
    unknown = sorted(set(state) - set(expected))
    if unknown:
        raise ValueError(f"parameters the student architecture does not have: {unknown[:5]}")
    missing = [k for k in expected if k not in state]
    # The last block's mixing matrix only acts on v after the final readout input is fixed, so the
    # energy does not depend on it and exporters may prune it; the original has no per-element
    # reference energies (zero). Any other gap is an error.
    last = model.config.num_interactions - 1
    allowed = {
        f"interactions.{last}.update.mixing_matrix",
        f"interactions.{last}.update.channel_mixing",
        "atom_reference",
    }
    if set(missing) - allowed:
        raise ValueError(
            f"parameters missing from the checkpoint: {sorted(set(missing) - allowed)[:5]}; save "
            "the model's whole state_dict"
        )
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ValueError(f"{k}: shape {tuple(v.shape)} != expected {tuple(expected[k].shape)}")
    model.load_state_dict(state, strict=False)
    return model.eval()


def load_checkpoint(path: str | Path) -> StudentForceField:
    """An MLFF-Distiller checkpoint: {'model_state_dict': ..., 'config': {...}}. Only tensors and
    plain values are unpickled: a checkpoint is data, and a pickle that holds other Python
    objects could run code on load."""
    import pickle
    import zipfile

    path = readable_file(path, SOURCE)
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise InputError(path, f"is empty: give {SOURCE}")
    # torch.save writes a zip archive (or, in its legacy format, a pickle): anything else would
    # fail in torch.load's unpickler with an error that does not say what the file is.
    if not head.startswith((b"PK", b"\x80")):
        raise InputError(path, f"not a PyTorch checkpoint: give {SOURCE}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        # TorchScript archives hold their code, AOTInductor packages their compiled library.
        if any(n.endswith("/constants.pkl") or "aotinductor" in n for n in names):
            raise InputError(
                path,
                "is a model file (made by export or compile), not a checkpoint: give the "
                "checkpoint it was made from",
            )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise InputError(
            path,
            "holds Python objects besides tensors and plain values, which are not loaded "
            "(unpickling them could run code). Where the file was made, save "
            "{'model_state_dict': model.state_dict(), 'config': {...}} with torch.save "
            f"instead ({str(err).splitlines()[0]})",
        ) from None
    except Exception as err:  # a damaged archive or pickle fails in torch.load in many ways
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            path, f"not a readable PyTorch checkpoint ({first}): give {SOURCE}"
        ) from None
    if not isinstance(ckpt, dict):
        raise InputError(
            path, f"not a checkpoint (expected a dict with 'model_state_dict'): give {SOURCE}"
        )
    state, config = ckpt.get("model_state_dict", ckpt), ckpt.get("config")
    if not isinstance(state, dict) or not (config is None or isinstance(config, dict)):
        raise InputError(
            path, "not a checkpoint: its 'model_state_dict' and 'config' must be dicts"
        )
    return _model_of(path, state, config)


def _model_of(path: Path, state: dict, config: dict | None = None) -> StudentForceField:
    """model_from_state, its errors said of the file they come from."""
    try:
        return model_from_state(state, config)
    except KeyError as err:
        raise InputError(
            path, f"parameter {err} missing: not a checkpoint of the student architecture"
        ) from None
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(path, str(err)) from None


def load_onnx(path: str | Path) -> StudentForceField:
    """Rebuilds the model from an ONNX file's initializers (its graph is not used: see README)."""
    path = readable_file(path, SOURCE)
    try:
        import onnx
        from google.protobuf.message import DecodeError
        from onnx import numpy_helper
    except ImportError:
        raise InputError(
            path, "reading ONNX files needs the onnx package: pip install 'mlff-student[onnx]'"
        ) from None
    try:
        graph = onnx.load(str(path)).graph
    except DecodeError as err:
        raise InputError(path, f"not a readable ONNX file ({err}): give {SOURCE}") from None
    state = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in graph.initializer
    }
    return _model_of(path, state)


def load_model(path: str | Path) -> StudentForceField:
    path = Path(path)
    if path.suffix == ".onnx":
        return load_onnx(path)
    return load_checkpoint(path)
