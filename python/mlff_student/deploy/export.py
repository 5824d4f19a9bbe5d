"""Export to TorchScript in the file format the LAMMPS plugin loads (doc/model_format.md,
mirrored by contract.py). `energy_and_edge_gradient` computes the entries' outputs, for the
TorchScript module here and for the AOTInductor graph of compile.py."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, readable_file
from ..model.student import StudentForceField
from .contract import FORMAT_VERSION, METADATA_NAME

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@contextlib.contextmanager
def torchscript_quietly():
    """torch deprecates torch.jit's entry points (2.11: DeprecationWarning, hidden by default;
    2.15: FutureWarning, shown). TorchScript stays the plugin's portable format while torch
    ships it; doc/model_format.md says what replaces it, so that a user of `export` need not
    read the warning at every call."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", category)
        yield


with torchscript_quietly():

    @torch.jit.interface
    class NodeEnergyHalves(nn.Module):
        """Node energies in two halves: the scalar node features after the interaction blocks, and
        the readout of energies from them (StudentForceField, or compile.py's CompiledHalves)."""

        def features(
            self,
            z: torch.Tensor,
            src: torch.Tensor,
            dst: torch.Tensor,
            edge_vec: torch.Tensor,
            exchange: bool,
        ) -> torch.Tensor:
            pass

        def readout(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            pass


def energy_and_edge_gradient(
    model: NodeEnergyHalves,
    z: torch.Tensor,
    edge_src: torch.Tensor,
    edge_dst: torch.Tensor,
    edge_vec: torch.Tensor,
    energy_mask: torch.Tensor,
    exchange: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(node_energy, edge_grad) of the contract above; exchange: of one rank's graph whose ghost
    features are exchanged layer by layer (StudentForceField.features)."""
    edge_vec = edge_vec.detach().requires_grad_(True)
    node_energy = model.readout(z, model.features(z, edge_src, edge_dst, edge_vec, exchange))
    total = (node_energy * energy_mask).sum()
    grad = torch.autograd.grad([total], [edge_vec])[0]
    assert grad is not None
    return node_energy.detach(), grad


class GraphEnergyModule(nn.Module):
    def __init__(self, model: StudentForceField):
        super().__init__()
        self.model = model

    def forward(
        self,
        z: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_vec: torch.Tensor,
        energy_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return energy_and_edge_gradient(self.model, z, edge_src, edge_dst, edge_vec, energy_mask)

    # forward for one rank's graph of several, with ghost features exchanged layer by layer.
    @torch.jit.export
    def forward_exchange(
        self,
        z: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_vec: torch.Tensor,
        energy_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return energy_and_edge_gradient(
            self.model, z, edge_src, edge_dst, edge_vec, energy_mask, True
        )

    # The two halves of forward, for callers that run only the interaction blocks under reduced
    # precision (the C++ runner's fp16/bf16 modes) and differentiate themselves.
    @torch.jit.export
    def features(
        self,
        z: torch.Tensor,
        edge_src: torch.Tensor,
        edge_dst: torch.Tensor,
        edge_vec: torch.Tensor,
        exchange: bool = False,
    ) -> torch.Tensor:
        return self.model.features(z, edge_src, edge_dst, edge_vec, exchange)

    @torch.jit.export
    def readout(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.model.readout(z, s)


def metadata(
    model: StudentForceField,
    dtype: str,
    fmt: str = "torchscript",
    precision: str | None = None,
    device: str = "any",
) -> dict:
    """precision: the arithmetic the file was built for (fp32/fp64 for TorchScript, whose
    reduced precisions are chosen at run time; the compiled precision of an AOTI package)."""
    c = model.config
    return {
        "format_version": str(FORMAT_VERSION),
        "format": fmt,
        "precision": precision or {"float32": "fp32", "float64": "fp64"}[dtype],
        "device": device,
        "cutoff": repr(float(c.cutoff)),
        "num_interactions": str(c.num_interactions),
        "max_z": str(c.max_z),
        "hidden_dim": str(c.hidden_dim),
        "num_rbf": str(c.num_rbf),
        "mixing": c.mixing,
        "smooth_cutoff": str(int(c.smooth_cutoff)),
        "dtype": dtype,
        "torch_version": torch.__version__,
        # The file has a second entry for one rank of several, which exchanges ghost features
        # layer by layer (forward_exchange; the package's model "exchange").
        "ghost_exchange": "1",
        # What it exchanges per node: the scalar features and the three Cartesian components of
        # the vector features.
        "exchange_values": str(4 * c.hidden_dim),
        **({"elements": ",".join(c.elements)} if c.elements else {}),
    }


def format_metadata(meta: dict) -> str:
    return "".join(f"{k}={v}\n" for k, v in meta.items())


def parse_metadata(text: str | bytes, path: str | Path | None = None) -> dict:
    """The key=value lines of a file's metadata; path: the file, for the errors."""
    remake = "remake the file with python -m mlff_student export or compile"
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as err:
            raise InputError(
                path, f"its metadata is not UTF-8 text ({err.reason}): {remake}"
            ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines:
        if "=" not in line:
            raise InputError(path, f"metadata line {line!r} is not key=value: {remake}")
    return dict(line.split("=", 1) for line in lines)


def export_torchscript(model: StudentForceField, path: str | Path, dtype: str = "float32") -> dict:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}")
    module = GraphEnergyModule(model.to(DTYPES[dtype]).eval())
    meta = metadata(model, dtype)
    with torchscript_quietly():
        scripted = torch.jit.script(module)
        torch.jit.save(scripted, str(path), _extra_files={METADATA_NAME: format_metadata(meta)})
    return meta


def read_metadata(path: str | Path) -> dict:
    """A model file's metadata, read from its zip archive: no code of the file is loaded."""
    import json
    import zipfile

    what = "a TorchScript file (.pt) or AOTInductor package (.pt2) made by export or compile"
    path = readable_file(path, what)
    if not zipfile.is_zipfile(path):
        raise InputError(
            path, f"not a model file (neither TorchScript nor an AOTInductor package): give {what}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            torchscript = [n for n in names if n.endswith(f"/extra/{METADATA_NAME}")]
            if torchscript:
                return parse_metadata(archive.read(torchscript[0]), path)
            # AOTInductor keeps the metadata given at compile time as JSON beside the model
            # library.
            package = [n for n in names if n.endswith("_metadata.json") and "aotinductor" in n]
            for name in package:
                meta = json.loads(archive.read(name))
                if "format_version" in meta:
                    return meta
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"a damaged model file ({err}): remake it") from None
    raise InputError(
        path, "has no mlff_student metadata: make it with python -m mlff_student export or compile"
    )


def load_exported(path: str | Path):
    """The exported module and its metadata, as the plugin sees them."""
    extra = {METADATA_NAME: ""}
    with torchscript_quietly():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return module, parse_metadata(extra[METADATA_NAME], path)
