"""AOTInductor packages (.pt2): energy and per-edge gradients traced into one compiled graph.

The graph has the same contract as the TorchScript export (see export.py), dynamic in the number
of nodes and edges, and is compiled for one device and one precision: compile on (a machine like)
the one that will run it. Reduced precisions run the interaction blocks under autocast; the
geometry, the readout and the energy sum stay in float32.

On CUDA the message step defaults to the fused Triton kernels of message_kernels.py (filters
tabulated by filter_tables.py, no per-edge feature tensors), which Inductor compiles into the
package; `message="torch"` keeps the model's own ops, as the TorchScript export runs them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import InputError
from ..model.student import StudentForceField
from .export import energy_and_edge_gradient, metadata

AUTOCAST = {"fp16": torch.float16, "bf16": torch.bfloat16}
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
MESSAGES = ("fused", "torch")


class CompiledHalves:
    """The model's two halves as the package runs them: the interaction blocks under autocast
    in the reduced precisions, the readout in float32."""

    def __init__(self, model: StudentForceField, precision: str, device_type: str):
        self.model = model
        self.autocast_dtype = AUTOCAST.get(precision)
        self.device_type = device_type

    def features(self, z, src, dst, edge_vec, exchange):
        with torch.autocast(
            self.device_type,
            dtype=self.autocast_dtype or torch.float32,
            enabled=self.autocast_dtype is not None,
        ):
            return self.model.features(z, src, dst, edge_vec, exchange)

    def readout(self, z, s):
        return self.model.readout(z, s.float())


def energy_and_gradient_fn(
    model: StudentForceField, precision: str, device_type: str, exchange: bool = False
):
    """The function that is traced and compiled (its parameters name the graph's inputs)."""
    halves = CompiledHalves(model, precision, device_type)

    def fn(z, edge_src, edge_dst, edge_vec, energy_mask):
        return energy_and_edge_gradient(
            halves, z, edge_src, edge_dst, edge_vec, energy_mask, exchange
        )

    return fn


def example_graph(device: torch.device):
    """Benzene with all pairs: sizes that are neither 0, 1 nor equal, so nothing specializes."""
    from ase.build import molecule

    atoms = molecule("C6H6")
    pos = torch.tensor(atoms.positions, dtype=torch.float32)
    n = len(atoms)
    src, dst = torch.nonzero(~torch.eye(n, dtype=torch.bool), as_tuple=True)
    return (
        torch.tensor(atoms.numbers, device=device),
        src.to(device),
        dst.to(device),
        (pos[src] - pos[dst]).to(device),
        torch.ones(n, device=device),
    )


def compile_aoti(
    model: StudentForceField,
    path: str | Path,
    device: str = "cuda",
    precision: str = "fp32",
    message: str | None = None,
    knots: int | None = None,
    tables: str = "features",
) -> dict:
    """message: "fused" (default on CUDA) or "torch" (the only choice on CPU); knots: the size
    of the fused kernels' filter tables. In fp16 and bf16 the fused kernels read node features
    (and their gradients) in that 16-bit type, and the tables too unless tables is "fp32"."""
    message = message or ("fused" if device == "cuda" else "torch")
    if precision not in PRECISIONS:
        raise InputError(None, f"precision must be one of {PRECISIONS}, not {precision!r}")
    if device not in ("cuda", "cpu"):
        raise InputError(None, f"device must be cuda or cpu, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError(
            None,
            "device cuda needs a GPU, and this machine has none: compile on (a machine like) the "
            "one that will run the package, or for device cpu",
        )
    if precision != "fp32" and device != "cuda":
        raise InputError(
            None, f"precision {precision} needs device cuda: on cpu, compile in precision fp32"
        )
    if message not in MESSAGES:
        raise InputError(None, f"message must be one of {MESSAGES}, not {message!r}")
    if message == "fused" and device != "cuda":
        raise InputError(None, "fused message kernels need device cuda: on cpu, use message torch")
    if knots is not None and (message != "fused" or knots < 1):
        raise InputError(
            None, f"knots {knots}: give a positive filter table size, for fused kernels only"
        )
    if tables not in ("features", "fp32"):
        raise InputError(None, f"tables must be 'features' or 'fp32', not {tables!r}")
    from torch.fx.experimental.proxy_tensor import make_fx

    dev = torch.device(device)
    model = model.to(dev, torch.float32).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    example = example_graph(dev)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    if message == "fused":
        # Only here: message_kernels imports Triton, which CPU-only machines may lack.
        from .filter_tables import DEFAULT_KNOTS
        from .message_kernels import tabulated_copy

        knots = knots or DEFAULT_KNOTS
        feature_dtype = AUTOCAST.get(precision, torch.float32)
        model = tabulated_copy(
            model, knots, feature_dtype, torch.float32 if tables == "fp32" else feature_dtype
        )
    meta = metadata(model, "float32", fmt="aoti", precision=precision, device=device)
    meta["message"] = message
    if device == "cuda":  # the package's kernels are built for this CUDA and GPU architecture
        major, minor = torch.cuda.get_device_capability(dev)
        meta["cuda_version"] = str(torch.version.cuda)
        meta["gpu"] = f"{torch.cuda.get_device_name(dev)} (compute capability {major}.{minor})"
    if message == "fused":
        meta["filter_knots"] = str(knots)
        meta["message_features"] = str(feature_dtype).removeprefix("torch.")
        meta["filter_tables"] = "float32" if tables == "fp32" else meta["message_features"]
    # Two models in one package: "model" for a whole graph, "exchange" for one rank's graph of
    # several (export.py's forward_exchange).
    from torch._inductor.package import package_aoti

    files = {}
    for name, exchange in (("model", False), ("exchange", True)):
        fn = energy_and_gradient_fn(model, precision, dev.type, exchange)
        traced = make_fx(fn, tracing_mode="symbolic", _allow_non_fake_inputs=True)(*example)
        nodes = torch.export.Dim("nodes", min=2)
        edges = torch.export.Dim("edges", min=2)
        program = torch.export.export(
            traced,
            example,
            dynamic_shapes=({0: nodes}, {0: edges}, {0: edges}, {0: edges}, {0: nodes}),
        )
        files[name] = torch._inductor.aot_compile(
            program.module(),
            example,
            options={"aot_inductor.package": True, "aot_inductor.metadata": meta},
        )
    package_aoti(str(path), files)
    return meta
