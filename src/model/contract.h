#pragma once

// The model file contract (doc/model_format.md), as the runtime reads it. Mirrored by
// python/mlff_student/deploy/contract.py; tests/contract checks that the two agree.

namespace mlff::contract {

// A file states the version of this contract it follows; this build reads exactly this one.
constexpr int kFormatVersion = 2;

// Metadata: 'key=value' lines, in a TorchScript file's extra file kMetadataName, in a package's
// AOTInductor metadata of its model kPackageModel.
constexpr const char* kMetadataName = "mlff_student_metadata";
constexpr const char* kRequiredKeys[] = {"format_version", "format", "precision",
                                         "device",         "cutoff", "num_interactions",
                                         "max_z",          "dtype"};
// Read where present: the elements trained on, the exchange entry and its row width, the
// PyTorch that made the file, the message kernels of a package.
constexpr const char* kOptionalKeys[] = {"elements",     "ghost_exchange", "exchange_values",
                                         "hidden_dim",   "torch_version",  "message",
                                         "filter_knots", "filter_tables",  "message_features"};
constexpr const char* kFormats[] = {"torchscript", "aoti"};
constexpr const char* kDevices[] = {"any", "cpu", "cuda"};
constexpr const char* kDtypes[] = {"float32", "float64"};

// Entry points: forward(z, edge_src, edge_dst, edge_vec, energy_mask) -> (node_energy,
// edge_grad); forward_exchange, the same for one rank of several (ghost_exchange=1); features
// and readout, the two halves a TorchScript file runs under reduced precision.
constexpr const char* kForward = "forward";
constexpr const char* kForwardExchange = "forward_exchange";
constexpr const char* kFeatures = "features";
constexpr const char* kReadout = "readout";
constexpr const char* kTorchScriptMethods[] = {kForward, kForwardExchange, kFeatures, kReadout};
constexpr const char* kPackageModel = "model";
constexpr const char* kPackageExchangeModel = "exchange";
constexpr const char* kInputs[] = {"z", "edge_src", "edge_dst", "edge_vec", "energy_mask"};
constexpr const char* kOutputs[] = {"node_energy", "edge_grad"};

// The operations an exchange entry calls, (Tensor, Tensor) -> (Tensor, Tensor): per-node
// feature tensors refreshed from the owners, and their gradients folded onto the owners.
constexpr const char* kGhostFeaturesOp = "mlff_student::ghost_features";
constexpr const char* kGhostGradientsOp = "mlff_student::ghost_gradients";

// Files of version 2 made before exchange_values was written exchange 4 hidden_dim values per
// node (a student's scalar and vector features).
constexpr int legacy_exchange_values(int hidden_dim) {
  return 4 * hidden_dim;
}

}  // namespace mlff::contract
