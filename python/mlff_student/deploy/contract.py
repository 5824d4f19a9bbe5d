"""The model file contract (doc/model_format.md), as the Python tools write it.

Mirrored by src/model/contract.h; tests/contract checks that the two agree.
"""

# A file states the version of this contract it follows; the runtime reads exactly this one.
FORMAT_VERSION = 2

# Metadata: 'key=value' lines, in a TorchScript file's extra file METADATA_NAME, in a package's
# AOTInductor metadata of its model PACKAGE_MODEL.
METADATA_NAME = "mlff_student_metadata"
REQUIRED_KEYS = (
    "format_version",
    "format",
    "precision",
    "device",
    "cutoff",
    "num_interactions",
    "max_z",
    "dtype",
)
OPTIONAL_KEYS = (
    "elements",
    "ghost_exchange",
    "exchange_values",
    "hidden_dim",
    "torch_version",
    "message",
    "filter_knots",
    "filter_tables",
    "message_features",
)
FORMATS = ("torchscript", "aoti")
DEVICES = ("any", "cpu", "cuda")
DTYPES = ("float32", "float64")

# Entry points: forward(z, edge_src, edge_dst, edge_vec, energy_mask) -> (node_energy,
# edge_grad); forward_exchange, the same for one rank of several (ghost_exchange=1); features and
# readout, the two halves a TorchScript file runs under reduced precision.
TORCHSCRIPT_METHODS = ("forward", "forward_exchange", "features", "readout")
PACKAGE_MODEL = "model"
PACKAGE_EXCHANGE_MODEL = "exchange"
INPUTS = ("z", "edge_src", "edge_dst", "edge_vec", "energy_mask")
OUTPUTS = ("node_energy", "edge_grad")

# The operations an exchange entry calls, (Tensor, Tensor) -> (Tensor, Tensor).
GHOST_FEATURES_OP = "mlff_student::ghost_features"
GHOST_GRADIENTS_OP = "mlff_student::ghost_gradients"


def as_dict() -> dict:
    """The contract as plain data, in the form the C++ side prints it (tests/contract)."""
    return {
        "format_version": FORMAT_VERSION,
        "metadata_name": METADATA_NAME,
        "required_keys": list(REQUIRED_KEYS),
        "optional_keys": list(OPTIONAL_KEYS),
        "formats": list(FORMATS),
        "devices": list(DEVICES),
        "dtypes": list(DTYPES),
        "torchscript_methods": list(TORCHSCRIPT_METHODS),
        "package_model": PACKAGE_MODEL,
        "package_exchange_model": PACKAGE_EXCHANGE_MODEL,
        "inputs": list(INPUTS),
        "outputs": list(OUTPUTS),
        "ghost_features_op": GHOST_FEATURES_OP,
        "ghost_gradients_op": GHOST_GRADIENTS_OP,
    }
