#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exchange/transport.h"
#include "graph/edge_graph.h"
#include "model/metadata.h"
#include "model/precision.h"
#include "util/step_profile.h"

namespace mlff {

struct LoadedModel;
class StagedCudaGraph;
struct HostBuffers;

// Views into the runner's result buffer, valid until its next run. Non-finite values are passed
// through: ForceScatter's energy and virial are non-finite then, which callers check.
struct ModelOutput {
  const double* node_energy = nullptr;  // [N] eV
  const double* edge_grad = nullptr;    // [E * 3] dE/d(edge_vec), eV/Å, of the masked energy
};

// Whether a CUDA graph replays each step (upload, model, download) for inputs padded to a
// capacity: fewer launches for small systems. Auto uses one up to a size where launches no longer
// matter.
enum class CudaGraphMode { Auto, On, Off };
CudaGraphMode parse_cuda_graph_mode(const std::string& name);  // auto, yes, no

struct RunnerOptions {
  std::optional<Device> device;        // default: CUDA when the model and LibTorch can use it
  std::optional<Precision> precision;  // default: the one the file was built for
  CudaGraphMode cuda_graph = CudaGraphMode::Auto;
  // For device cuda: this process uses GPU cuda_device modulo the number of visible GPUs (an MPI
  // rank's index on its node spreads ranks over a node's GPUs); -1 keeps the current GPU.
  int cuda_device = -1;
  // Every sum in an order fixed by the atoms alone, so that reruns are bit-identical: edges in
  // canonical order (EdgeGraph::order_canonically, DeviceStep) and LibTorch's deterministic
  // algorithms, which replace CUDA atomics by sorted reductions.
  bool deterministic = false;
};

// The LibTorch this build runs, e.g. "2.11.0".
std::string libtorch_version();

// Loads a model file (TorchScript .pt, or AOTInductor package .pt2, both with mlff_student
// metadata) and runs it on an EdgeGraph in host memory: on the CPU in place, on a GPU through
// StagedCudaGraph (one transfer each way, CUDA graphs for small systems). LibTorch stays behind
// this interface so that engine adapters need not include it.
class ModelRunner {
 public:
  // Throws mlff::Error when the file is missing, unreadable or not an mlff_student model, or when
  // the device or precision asked for cannot run it.
  explicit ModelRunner(const std::string& path, const RunnerOptions& options = {});
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  const ModelMetadata& metadata() const;
  Device device() const;
  Precision precision() const;
  int cuda_device() const;  // the GPU in use with device cuda, else -1
  bool deterministic() const;
  // For the log: "<format> model <path> (cutoff ..., kernels) on <device> in <precision>".
  std::string summary(const std::string& path) const;
  // Why reruns may still differ with deterministic yes (a package whose message step may add
  // atomically), or empty.
  std::string determinism_caveat(const std::string& path) const;

  // Throws mlff::Error when the model fails or returns misshaped outputs.
  // With a profile, the stages (staging, upload, model, download) are timed separately. With an
  // exchange, the graph is one rank's of several and its ghost features are exchanged layer by
  // layer (the file must have that entry: metadata().ghost_exchange).
  void run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile = nullptr,
           ExchangeTransport* exchange = nullptr);

  // The loaded model, for the core's steps that keep their tensors on the device (DeviceStep).
  const LoadedModel& loaded() const { return *model_; }

  static bool cuda_available();

 private:
  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<StagedCudaGraph> cuda_step_;
  std::unique_ptr<HostBuffers> host_;
};

}  // namespace mlff
