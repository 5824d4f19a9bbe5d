#pragma once

// The two kinds of model file behind one interface. Internal to the core: it includes LibTorch.

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "model/metadata.h"
#include "model/precision.h"

namespace mlff {

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  // Moves the model to the device and precision it runs in (a package is compiled for both).
  virtual void place(Device device, Precision precision) = 0;
  // inputs: z, edge_src, edge_dst, edge_vec, energy_mask on the model's device, queued on the
  // current stream; returns node_energy [N] and edge_grad [E, 3]. exchange: run the file's entry
  // for one rank of several, which calls the ghost exchange operations (ghost_exchange_ops.h).
  virtual std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs, bool exchange) = 0;
};

// A TorchScript file, loaded on the CPU until place(); its metadata is read as it loads.
std::unique_ptr<ModelBackend> open_torchscript(const std::string& path, ModelMetadata& metadata);

// An AOTInductor package's metadata, read without loading its code.
ModelMetadata read_package_metadata(const std::string& path);
// Throws mlff::Error when the package was compiled by another PyTorch (major.minor) or, for
// device cuda, for GPUs of another compute capability than the current one.
void check_package_runs_here(const std::string& path, const ModelMetadata& metadata, Device device);
std::unique_ptr<ModelBackend> open_aoti(const std::string& path);

}  // namespace mlff
