#pragma once

// A model file loaded for one device and precision. Internal to the core: it includes LibTorch.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exchange/transport.h"
#include "model/backend.h"
#include "model/metadata.h"
#include "model/model_runner.h"
#include "model/precision.h"

namespace mlff {

struct LoadedModel {
  ModelMetadata metadata;
  Device device = Device::CPU;
  Precision precision = Precision::FP32;
  int cuda_index = -1;  // the GPU in use with device cuda
  CudaGraphMode cuda_graph = CudaGraphMode::Auto;
  bool deterministic = false;
  std::unique_ptr<ModelBackend> backend;

  // The dtype of edge vectors, masks and outputs: float64 for fp64, else float32 (reduced
  // precisions apply inside the model).
  at::ScalarType input_dtype() const;
  at::Device torch_device() const;

  // Whether a step of this many graph nodes on the GPU runs as a replayed CUDA graph: always with
  // cuda_graph yes, up to kGraphAutoMaxNodes with auto. Kernel launches cost about 0.5 ms a step;
  // beyond that size the padding of a captured graph costs more (H100).
  static constexpr std::int64_t kGraphAutoMaxNodes = 5000;
  bool graphed(std::int64_t nodes) const;

  // LibTorch's process-wide switches this model runs with: TF32 matrix products (CUDA) and
  // deterministic algorithms. Set as the model loads; set again by forward only where another
  // model of the process changed them.
  void apply_switches() const;

  // The backend's forward, with failures explained (mlff::Error) and output shapes checked. With
  // an exchange, the file's entry for one rank of several runs with it behind the ghost exchange
  // operations; a graph without nodes then only takes part in the exchanges.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs,
                                  ExchangeTransport* exchange = nullptr) const;

  // What a rank without graph nodes does while the others run their models: the same collective
  // exchanges, with no rows.
  void exchange_without_rows(ExchangeTransport& exchange) const;
};

// Loads a TorchScript file or AOTInductor package, told apart by content, for the device and
// precision of options (defaults: the file's), and sets the process-wide LibTorch switches the
// run needs. Throws mlff::Error saying what is wrong and what to do.
std::unique_ptr<LoadedModel> load_model(const std::string& path, const RunnerOptions& options);

}  // namespace mlff
