#include <ATen/autocast_mode.h>
#include <torch/autograd.h>
#include <torch/script.h>

#include <iterator>
#include <string>
#include <unordered_map>

#include "model/backend.h"
#include "model/contract.h"
#include "util/error.h"

namespace mlff {

namespace {

// Enables CUDA autocast for one forward call.
class AutocastScope {
 public:
  explicit AutocastScope(at::ScalarType dtype) {
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    // Each weight is cast once per call anyway; cached casts would outlive a CUDA graph capture.
    at::autocast::set_autocast_cache_enabled(false);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    at::autocast::decrement_nesting();
    at::autocast::set_autocast_enabled(at::kCUDA, false);
  }
};

class TorchScriptBackend : public ModelBackend {
 public:
  TorchScriptBackend(torch::jit::Module module, std::string path)
      : module_(std::move(module)), path_(std::move(path)) {}

  void place(Device device, Precision precision) override {
    precision_ = precision;
    if ((precision == Precision::FP16 || precision == Precision::BF16) &&
        !module_.find_method(contract::kFeatures))
      throw Error("model file '" + path_ + "' predates reduced-precision support: export it again");
    module_.to(device == Device::CUDA ? torch::kCUDA : torch::kCPU,
               precision == Precision::FP64 ? torch::kDouble : torch::kFloat);
    module_.eval();
  }

  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs, bool exchange) override {
    if (precision_ == Precision::FP16) return autocast_forward(inputs, at::kHalf, exchange);
    if (precision_ == Precision::BF16) return autocast_forward(inputs, at::kBFloat16, exchange);
    std::vector<torch::jit::IValue> args(inputs.begin(), inputs.end());
    auto result =
        (exchange ? module_.get_method(contract::kForwardExchange)(args) : module_.forward(args))
            .toTuple();
    return {result->elements()[0].toTensor(), result->elements()[1].toTensor()};
  }

 private:
  // Autocast covers the interaction blocks only: the readout of energies of several eV and the
  // energy sum stay in float32, as they do in AOTI packages.
  std::vector<at::Tensor> autocast_forward(const std::vector<at::Tensor>& inputs,
                                           at::ScalarType dtype, bool exchange) {
    at::Tensor vec = inputs[3].detach().requires_grad_(true);
    at::Tensor features;
    {
      AutocastScope autocast(dtype);
      std::vector<torch::jit::IValue> args{inputs[0], inputs[1], inputs[2], vec};
      if (exchange) args.emplace_back(true);
      features = module_.get_method(contract::kFeatures)(args).toTensor();
    }
    at::Tensor energy =
        module_.get_method(contract::kReadout)({inputs[0], features.to(vec.scalar_type())})
            .toTensor();
    at::Tensor total = (energy * inputs[4]).sum();
    at::Tensor grad = torch::autograd::grad({total}, {vec})[0];
    return {energy.detach(), grad};
  }

  torch::jit::Module module_;
  std::string path_;
  Precision precision_ = Precision::FP32;
};

// An entry point as the contract states it: the five inputs, a pair of outputs. Checked as the
// file loads, so that a file that breaks the contract is refused with its name, not at the first
// step with a TorchScript stack.
void check_entry(const torch::jit::Module& module, const char* name, const std::string& path) {
  const auto method = module.find_method(name);
  const std::string what = "model file '" + path + "' ";
  const std::string remedy =
      " (the model contract, doc/model_format.md): export it with python -m mlff_student export";
  if (!method) throw Error(what + "has no " + name + " method" + remedy);
  const c10::FunctionSchema& schema = method->function().getSchema();
  const std::size_t inputs = schema.arguments().size() - 1;  // less self
  if (inputs != std::size(contract::kInputs))
    throw Error(what + "has a " + name + " of " + std::to_string(inputs) +
                " inputs, not the 5 (z, edge_src, edge_dst, edge_vec, energy_mask)" + remedy);
  const bool pair = schema.returns().size() == 1 &&
                    schema.returns()[0].type()->kind() == c10::TypeKind::TupleType &&
                    schema.returns()[0].type()->containedTypes().size() == 2;
  if (!pair)
    throw Error(what + "has a " + name + " that does not return the pair (node_energy, edge_grad)" +
                remedy);
}

}  // namespace

std::unique_ptr<ModelBackend> open_torchscript(const std::string& path, ModelMetadata& metadata) {
  std::unordered_map<std::string, std::string> extra{{contract::kMetadataName, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception& e) {
    throw Error("cannot load model file '" + path + "' as TorchScript: " + first_line(e));
  }
  if (extra[contract::kMetadataName].empty())
    throw Error("model file '" + path +
                "' has no mlff_student metadata: export it with python -m mlff_student export");
  metadata = ModelMetadata::parse(extra[contract::kMetadataName]);
  if (metadata.format != "torchscript")
    throw Error("model file '" + path + "' says it is " + metadata.format + ", not TorchScript");
  check_entry(module, contract::kForward, path);
  if (metadata.ghost_exchange) check_entry(module, contract::kForwardExchange, path);
  return std::make_unique<TorchScriptBackend>(std::move(module), path);
}

}  // namespace mlff
