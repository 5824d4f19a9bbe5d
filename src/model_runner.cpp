#include "model_runner.h"

#include <torch/script.h>

#include <cmath>
#include <fstream>
#include <unordered_map>

#include "error.h"

namespace mlff {

struct ModelRunner::Impl {
  torch::jit::Module module;
  ModelMetadata metadata;
  torch::ScalarType dtype = torch::kFloat32;
};

namespace {

void copy_to(const torch::Tensor& t, std::int64_t expected, const char* what,
             std::vector<double>& dst) {
  if (t.numel() != expected)
    throw Error(std::string("model returned ") + std::to_string(t.numel()) + " values for " +
                what + ", expected " + std::to_string(expected));
  torch::Tensor d = t.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* p = d.data_ptr<double>();
  dst.assign(p, p + expected);
  for (double v : dst)
    if (!std::isfinite(v)) throw Error(std::string("model returned a non-finite ") + what);
}

}  // namespace

ModelRunner::ModelRunner(const std::string& path) : impl_(std::make_unique<Impl>()) {
  if (!std::ifstream(path).good()) throw Error("cannot open model file '" + path + "'");
  std::unordered_map<std::string, std::string> extra{{kMetadataName, ""}};
  try {
    impl_->module = torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error("cannot load model file '" + path + "' as TorchScript: " +
                what.substr(0, what.find('\n')));
  }
  if (extra[kMetadataName].empty())
    throw Error("model file '" + path +
                "' has no mlff_student metadata: export it with python -m mlff_student export");
  impl_->metadata = ModelMetadata::parse(extra[kMetadataName]);
  impl_->dtype = impl_->metadata.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  impl_->module.eval();
  // The graph executor would re-profile and re-specialize whenever atom or edge counts change.
  torch::jit::setGraphExecutorOptimize(false);
}

ModelRunner::~ModelRunner() = default;

const ModelMetadata& ModelRunner::metadata() const { return impl_->metadata; }

void ModelRunner::run(const EdgeGraph& graph, ModelOutput& out) {
  const std::int64_t n = graph.num_nodes(), e = graph.num_edges();
  if (n == 0) {
    out.node_energy.clear();
    out.edge_grad.clear();
    return;
  }
  auto blob = [](const void* p, std::vector<std::int64_t> shape, torch::ScalarType t) {
    return torch::from_blob(const_cast<void*>(p), shape, torch::TensorOptions().dtype(t));
  };
  std::vector<torch::jit::IValue> inputs{
      blob(graph.z.data(), {n}, torch::kInt64),
      blob(graph.src.data(), {e}, torch::kInt64),
      blob(graph.dst.data(), {e}, torch::kInt64),
      blob(graph.edge_vec.data(), {e, 3}, torch::kFloat64).to(impl_->dtype),
      blob(graph.energy_mask.data(), {n}, torch::kFloat64).to(impl_->dtype)};
  torch::jit::IValue result;
  try {
    result = impl_->module.forward(inputs);
  } catch (const std::exception& ex) {
    std::string what = ex.what();
    throw Error("model evaluation failed: " + what.substr(0, what.find('\n')));
  }
  auto outputs = result.toTuple();
  copy_to(outputs->elements()[0].toTensor(), n, "node energy", out.node_energy);
  copy_to(outputs->elements()[1].toTensor(), 3 * e, "edge gradient", out.edge_grad);
}

}  // namespace mlff
