#include "model/loaded_model.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cstdlib>
#ifdef MLFF_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "exchange/model_ops.h"
#include "model/file.h"
#include "util/error.h"

namespace mlff {

namespace {

// The device, precision and GPU a model runs on, from the options and what the file allows.
void choose(LoadedModel& m, const RunnerOptions& options) {
  m.precision = options.precision.value_or(m.metadata.precision);
  if (m.metadata.device == "any")
    m.device = options.device.value_or(ModelRunner::cuda_available() ? Device::CUDA : Device::CPU);
  else
    m.device = options.device.value_or(parse_device(m.metadata.device));
  if (m.device == Device::CUDA && !ModelRunner::cuda_available())
    throw Error("device cuda requested, but LibTorch sees no CUDA device");
  const bool reduced = m.precision == Precision::TF32 || m.precision == Precision::FP16 ||
                       m.precision == Precision::BF16;
  if (reduced && m.device != Device::CUDA)
    throw Error("precision " + precision_name(m.precision) + " needs device cuda");
#ifdef MLFF_CUDA
  // Every CUDA tensor, stream and graph of this process is then made on that GPU.
  if (m.device == Device::CUDA && options.cuda_device >= 0)
    c10::cuda::set_device(options.cuda_device % c10::cuda::device_count());
  if (m.device == Device::CUDA) m.cuda_index = c10::cuda::current_device();
#endif
  m.cuda_graph = options.cuda_graph;
  if (m.cuda_graph == CudaGraphMode::On && m.device != Device::CUDA)
    throw Error("cuda_graph yes needs device cuda");
  m.deterministic = options.deterministic;
}

// Settings of the whole process, made once as the model loads.
void set_process_settings(const LoadedModel& m) {
  // The graph executor would re-profile and re-specialize whenever atom or edge counts change.
  torch::jit::setGraphExecutorOptimize(false);
  // Memory LibTorch leaves uninitialised is not filled in deterministic mode, which would cost
  // every step.
  at::globalContext().setDeterministicFillUninitializedMemory(false);
  // cuBLAS is deterministic with a fixed workspace; read once, when cuBLAS starts.
  if (m.deterministic && m.device == Device::CUDA)
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
}

// A package is compiled for one precision: how to get a file for the one asked. Packages hold
// no fp64 (a TorchScript file does), and the reduced precisions run on CUDA only.
std::string precision_remedy(const ModelMetadata& meta, Precision wanted) {
  const std::string name = precision_name(wanted);
  if (wanted == Precision::FP64)
    return "packages run in fp32 or below; for fp64 use a TorchScript file (python -m "
           "mlff_student export <checkpoint> -o <file>.pt --dtype float64), or leave precision "
           "out to run the package as compiled";
  if (wanted != Precision::FP32 && meta.device != "cuda")
    return name +
           " runs on CUDA only: on a machine with a GPU, compile a package with python -m "
           "mlff_student compile <checkpoint> -o <file>.pt2 --device cuda --precision " +
           name + ", or leave precision out to run this one as compiled";
  return "compile it again with python -m mlff_student compile <checkpoint> -o <file>.pt2 "
         "--device " +
         meta.device + " --precision " + name + ", or leave precision out to run it as compiled";
}

}  // namespace

at::ScalarType LoadedModel::input_dtype() const {
  return precision == Precision::FP64 ? at::kDouble : at::kFloat;
}

bool LoadedModel::graphed(std::int64_t nodes) const {
  return device == Device::CUDA &&
         (cuda_graph == CudaGraphMode::On ||
          (cuda_graph == CudaGraphMode::Auto && nodes <= kGraphAutoMaxNodes));
}

at::Device LoadedModel::torch_device() const {
  return device == Device::CUDA ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(cuda_index))
                                : at::Device(at::kCPU);
}

std::unique_ptr<LoadedModel> load_model(const std::string& path, const RunnerOptions& options) {
  auto m = std::make_unique<LoadedModel>();
  // Files with an exchange entry call these operations; they are resolved as the file loads.
  register_ghost_exchange_ops();
  if (inspect_model_file(path) == ModelFormat::Aoti) {
    m->metadata = read_package_metadata(path);
    if (options.precision && *options.precision != m->metadata.precision)
      throw Error("package '" + path + "' was compiled for precision " +
                  precision_name(m->metadata.precision) + ", not " +
                  precision_name(*options.precision) + ": " +
                  precision_remedy(m->metadata, *options.precision));
    if (options.device && device_name(*options.device) != m->metadata.device)
      throw Error("package '" + path + "' was compiled for device " + m->metadata.device +
                  ", not " + device_name(*options.device));
    choose(*m, options);
    check_package_runs_here(path, m->metadata, m->device);
    m->backend = open_aoti(path);
  } else {
    m->backend = open_torchscript(path, m->metadata);
    choose(*m, options);
  }
  m->backend->place(m->device, m->precision);
  set_process_settings(*m);
  m->apply_switches();
  return m;
}

void LoadedModel::apply_switches() const {
  at::Context& context = at::globalContext();
  if (device == Device::CUDA && context.allowTF32CuBLAS() != (precision == Precision::TF32))
    context.setAllowTF32CuBLAS(precision == Precision::TF32);
  // index_add_ and the backward of gathers sort instead of adding atomically.
  if (context.deterministicAlgorithms() != deterministic)
    context.setDeterministicAlgorithms(deterministic, /*warn_only=*/false);
}

void LoadedModel::exchange_without_rows(ExchangeTransport& exchange) const {
  const FeatureRows none{nullptr, 0, metadata.ghost_exchange_words(precision == Precision::FP64),
                         precision != Precision::FP64, false};
  for (int k = 1; k < metadata.num_interactions; ++k) exchange.refresh_ghosts(none);
  for (int k = 1; k < metadata.num_interactions; ++k) exchange.fold_ghosts(none);
}

std::vector<at::Tensor> LoadedModel::forward(const std::vector<at::Tensor>& inputs,
                                             ExchangeTransport* exchange) const {
  apply_switches();
  const std::int64_t nodes = inputs[0].numel(), edges = inputs[1].numel();
  if (exchange && nodes == 0) {
    exchange_without_rows(*exchange);
    return {at::zeros({0}, inputs[3].options()), at::zeros({0, 3}, inputs[3].options())};
  }
  ExchangeScope scope(exchange);
  std::vector<at::Tensor> result;
  try {
    result = backend->forward(inputs, exchange != nullptr);
  } catch (const std::exception& ex) {
    std::string why = torch_cause(ex);
    // AOTInductor reports only that its run failed; on a GPU that is mostly memory.
    if (why.find("API call failed") != std::string::npos)
      why =
          "the AOTInductor model's run failed; for large systems that is most often the GPU "
          "running out of memory";
    throw Error("model evaluation failed for " + std::to_string(nodes) + " atoms and " +
                std::to_string(edges) + " edges: " + why);
  }
  if (result.size() != 2 || result[0].numel() != nodes || result[1].numel() != 3 * edges)
    throw Error("model returned outputs of the wrong shape (expected [" + std::to_string(nodes) +
                "] and [" + std::to_string(edges) + ", 3])");
  return result;
}

}  // namespace mlff
