#include "model_runner.h"

#include <ATen/ATen.h>

#include "input_staging.h"
#include "loaded_model.h"
#include "mlff_error.h"
#ifdef MLFF_CUDA
#include "cuda_graph_step.h"
#else
namespace mlff {
class CudaGraphStep {};  // a LibTorch without CUDA has no GPU step; the pointer stays empty
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
  if (model_->device == Device::CUDA) cuda_step_ = std::make_unique<CudaGraphStep>(*model_);
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
                      GhostExchange* exchange) {
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

}  // namespace mlff
