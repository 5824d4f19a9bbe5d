"""Building a StudentForceField from an MLFF-Distiller checkpoint or from the seed's ONNX files."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .student import StudentConfig, StudentForceField

DEFAULT_CUTOFF = 5.0


def _strip_prefix(state: dict) -> dict:
    """Drops a wrapper prefix such as 'model.' so that keys start at 'embedding.'."""
    key = next((k for k in state if k.endswith("embedding.weight")), None)
    if key is None:
        raise ValueError("no 'embedding.weight' among the parameters: not a student model")
    prefix = key[: -len("embedding.weight")]
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def config_from_state(state: dict, config: dict | None = None) -> StudentConfig:
    """Fills the config keys a checkpoint lacks from the tensor shapes, as the original does."""
    config = dict(config or {})
    emb = state["embedding.weight"]
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"interactions\.(\d+)\.", k))}
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
            f"parameters missing from the checkpoint: {sorted(set(missing) - allowed)[:5]}"
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

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path}: holds Python objects besides tensors and plain values, which are not "
            "loaded (unpickling them could run code). Where the file was made, save "
            "{'model_state_dict': model.state_dict(), 'config': {...}} with torch.save "
            f"instead ({str(err).splitlines()[0]})"
        ) from None
    except RuntimeError as err:  # not a zip or pickle torch.load can read
        raise ValueError(f"{path}: not a PyTorch checkpoint ({str(err).splitlines()[0]})") from None
    if isinstance(ckpt, dict) and "model_state_dict" in ckpt:
        return model_from_state(ckpt["model_state_dict"], ckpt.get("config"))
    if isinstance(ckpt, dict):
        return model_from_state(ckpt)
    raise ValueError(f"{path}: not a checkpoint (expected a dict with 'model_state_dict')")


def load_onnx(path: str | Path) -> StudentForceField:
    """Rebuilds the model from an ONNX file's initializers (its graph is not used: see README)."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        graph = onnx.load(str(path)).graph
    except DecodeError as err:
        raise ValueError(f"{path}: not a readable ONNX file ({err})") from None
    state = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in graph.initializer
    }
    return model_from_state(state)


def load_model(path: str | Path) -> StudentForceField:
    path = Path(path)
    if path.suffix == ".onnx":
        return load_onnx(path)
    return load_checkpoint(path)
