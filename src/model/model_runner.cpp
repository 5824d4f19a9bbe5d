#include "model/model_runner.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>
#include <string>

#include "model/loaded_model.h"
#include "staged/input_staging.h"
#include "util/error.h"
#ifdef MLFF_CUDA
#include "staged/staged_cuda_graph.h"
#else
namespace mlff {
class StagedCudaGraph {};  // a LibTorch without CUDA has no GPU step; the pointer stays empty
}  // namespace mlff
#endif

namespace mlff {

// Staging and result buffers of a model run on the CPU, kept from step to step.
struct HostBuffers {
  at::Tensor in, out;
};

CudaGraphMode parse_cuda_graph_mode(const std::string& name) {
  if (name == "auto") return CudaGraphMode::Auto;
  if (name == "yes") return CudaGraphMode::On;
  if (name == "no") return CudaGraphMode::Off;
  throw Error("cuda_graph must be auto, yes or no, not " + name);
}

ModelRunner::ModelRunner(const std::string& path, const RunnerOptions& options)
    : model_(load_model(path, options)), host_(std::make_unique<HostBuffers>()) {
#ifdef MLFF_CUDA
  if (model_->device == Device::CUDA) cuda_step_ = std::make_unique<StagedCudaGraph>(*model_);
#endif
}

ModelRunner::~ModelRunner() = default;

const ModelMetadata& ModelRunner::metadata() const {
  return model_->metadata;
}
Device ModelRunner::device() const {
  return model_->device;
}
Precision ModelRunner::precision() const {
  return model_->precision;
}
int ModelRunner::cuda_device() const {
  return model_->cuda_index;
}
bool ModelRunner::deterministic() const {
  return model_->deterministic;
}

void ModelRunner::run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile,
                      ExchangeTransport* exchange) {
  if (graph.num_nodes() == 0) {
    if (exchange) model_->exchange_without_rows(*exchange);
    out = ModelOutput();
    return;
  }
#ifdef MLFF_CUDA
  if (cuda_step_) return cuda_step_->run(graph, out, profile, exchange);
#endif
  StageClock clock(profile);
  const InputLayout in(graph.num_nodes(), graph.num_edges(),
                       model_->input_dtype() == at::kDouble ? 8 : 4);
  ensure_bytes(host_->in, in.total, at::TensorOptions());
  stage_inputs(graph, in, 0.0, host_->in.data_ptr<std::uint8_t>());
  clock.lap("stage inputs");
  const std::vector<at::Tensor> result = model_->forward(
      input_views(host_->in.data_ptr<std::uint8_t>(), in, at::kCPU, model_->input_dtype()),
      exchange);
  clock.lap("model");
  ensure_bytes(host_->out, 8 * in.outputs(), at::TensorOptions());
  pack_outputs(result, in, host_->out);
  clock.lap("download");
  out.node_energy = reinterpret_cast<const double*>(host_->out.data_ptr());
  out.edge_grad = out.node_energy + in.nodes;
}

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool ModelRunner::cuda_available() {
  return torch::cuda::is_available();
}

std::string ModelRunner::summary(const std::string& path) const {
  const ModelMetadata& meta = metadata();
  const auto entry = [&](const char* key) {
    const auto it = meta.entries.find(key);
    return it == meta.entries.end() ? std::string() : it->second;
  };
  std::string kernels;
  if (!entry("filter_knots").empty()) {
    kernels = ", fused message kernels with " + entry("filter_knots") + "-knot filter tables";
    if (!entry("message_features").empty() && !entry("filter_tables").empty())
      kernels +=
          " (" + entry("filter_tables") + "), reading " + entry("message_features") + " features";
  }
  std::ostringstream cutoff;
  cutoff << meta.cutoff;
  std::string where = device_name(device());
  if (cuda_device() >= 0) where += ":" + std::to_string(cuda_device());
  return meta.format + " model " + path + " (cutoff " + cutoff.str() + " A, " +
         std::to_string(meta.num_interactions) + " interactions" + kernels + ") on " + where +
         " in " + precision_name(precision()) + (deterministic() ? ", deterministic" : "");
}

std::string ModelRunner::determinism_caveat(const std::string& path) const {
  const auto message = metadata().entries.find("message");
  if (!deterministic() || message == metadata().entries.end() || message->second == "fused")
    return "";
  return "deterministic yes with package " + path +
         ", whose message step was compiled from the model's own ops (" + message->second +
         "): its scatters may add atomically, so reruns can differ in the last digits. Use a "
         "TorchScript file, or a package compiled with the fused message kernels (the default on "
         "CUDA)";
}

}  // namespace mlff
