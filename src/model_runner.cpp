#include "model_runner.h"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstring>
#include <fstream>
#include <unordered_map>

#include "mlff_error.h"

namespace mlff {

namespace {

std::string first_line(const std::exception& e) {
  std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

// TorchScript wraps the cause in a long trace: keep its first line and the line naming the cause.
std::string cause(const std::exception& e) {
  std::string what = e.what();
  if (what.find("out of memory") != std::string::npos)
    return "the device ran out of memory: give each GPU fewer atoms (more MPI ranks or GPUs), "
           "or use an AOTInductor package, which needs less memory";
  std::string last;
  std::size_t start = 0;
  while (start < what.size()) {
    std::size_t end = what.find('\n', start);
    if (end == std::string::npos) end = what.size();
    if (end > start && what.find_first_not_of(" \t", start) < end)
      last = what.substr(start, end - start);
    start = end + 1;
  }
  const std::string first = first_line(e);
  return last.empty() || last == first ? first : first + " ... " + last;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Enables CUDA autocast for one forward call.
class AutocastScope {
 public:
  explicit AutocastScope(at::ScalarType dtype) {
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, false);
  }
};

class Backend {
 public:
  virtual ~Backend() = default;
  // inputs: z, edge_src, edge_dst, edge_vec, energy_mask; returns node_energy, edge_grad.
  virtual std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) = 0;
};

class TorchScriptBackend : public Backend {
 public:
  TorchScriptBackend(torch::jit::Module module, Precision precision)
      : module_(std::move(module)), precision_(precision) {}

  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) override {
    if (precision_ == Precision::FP16) return autocast_forward(inputs, at::kHalf);
    if (precision_ == Precision::BF16) return autocast_forward(inputs, at::kBFloat16);
    std::vector<torch::jit::IValue> args(inputs.begin(), inputs.end());
    auto result = module_.forward(args).toTuple();
    return {result->elements()[0].toTensor(), result->elements()[1].toTensor()};
  }

 private:
  // Autocast covers the interaction blocks only: the readout of energies of several eV and the
  // energy sum stay in float32, as they do in AOTI packages.
  std::vector<at::Tensor> autocast_forward(const std::vector<at::Tensor>& inputs,
                                           at::ScalarType dtype) {
    at::Tensor vec = inputs[3].detach().requires_grad_(true);
    at::Tensor features;
    {
      AutocastScope autocast(dtype);
      features = module_.get_method("features")({inputs[0], inputs[1], inputs[2], vec}).toTensor();
    }
    at::Tensor energy = module_.get_method("readout")({features.to(vec.scalar_type())}).toTensor();
    at::Tensor total = (energy * inputs[4]).sum();
    at::Tensor grad = torch::autograd::grad({total}, {vec})[0];
    return {energy.detach(), grad};
  }

 private:
  torch::jit::Module module_;
  Precision precision_;
};

class AotiBackend : public Backend {
 public:
  explicit AotiBackend(const std::string& path)
      : loader_(std::make_unique<torch::inductor::AOTIModelPackageLoader>(path)) {}

  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) override {
    return loader_->run(inputs);
  }

 private:
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
};

std::size_t align(std::size_t bytes) {
  return (bytes + 63) & ~std::size_t(63);
}

// A byte buffer that keeps its capacity and doubles when it must grow.
void ensure_bytes(at::Tensor& buffer, std::size_t bytes, const at::TensorOptions& options) {
  if (buffer.defined() && static_cast<std::size_t>(buffer.numel()) >= bytes) return;
  const std::size_t old = buffer.defined() ? buffer.numel() : 0;
  buffer =
      at::empty({static_cast<std::int64_t>(std::max(bytes, 2 * old))}, options.dtype(at::kByte));
}

}  // namespace

struct ModelRunner::Impl {
  ModelMetadata metadata;
  Device device = Device::CPU;
  Precision precision = Precision::FP32;
  at::ScalarType dtype = at::kFloat;  // of edge vectors, masks and outputs
  std::unique_ptr<Backend> backend;
  at::Tensor host_in, device_in, device_out, host_out;

  void load_torchscript(const std::string& path, const RunnerOptions& options);
  void load_aoti(const std::string& path, const RunnerOptions& options);
  void choose(const RunnerOptions& options);
};

bool ModelRunner::cuda_available() {
  return torch::cuda::is_available();
}

void ModelRunner::Impl::choose(const RunnerOptions& options) {
  precision = options.precision.value_or(metadata.precision);
  if (metadata.device == "any")
    device = options.device.value_or(cuda_available() ? Device::CUDA : Device::CPU);
  else
    device = options.device.value_or(parse_device(metadata.device));
  if (device == Device::CUDA && !cuda_available())
    throw Error("device cuda requested, but LibTorch sees no CUDA device");
  const bool reduced =
      precision == Precision::TF32 || precision == Precision::FP16 || precision == Precision::BF16;
  if (reduced && device != Device::CUDA)
    throw Error("precision " + precision_name(precision) + " needs device cuda");
  dtype = precision == Precision::FP64 ? at::kDouble : at::kFloat;
}

void ModelRunner::Impl::load_torchscript(const std::string& path, const RunnerOptions& options) {
  std::unordered_map<std::string, std::string> extra{{kMetadataName, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception& e) {
    throw Error("cannot load model file '" + path + "' as TorchScript: " + first_line(e));
  }
  if (extra[kMetadataName].empty())
    throw Error("model file '" + path +
                "' has no mlff_student metadata: export it with python -m mlff_student export");
  metadata = ModelMetadata::parse(extra[kMetadataName]);
  if (metadata.format != "torchscript")
    throw Error("model file '" + path + "' says it is " + metadata.format + ", not TorchScript");
  choose(options);
  if ((precision == Precision::FP16 || precision == Precision::BF16) &&
      !module.find_method("features"))
    throw Error("model file '" + path + "' predates reduced-precision support: export it again");
  module.to(device == Device::CUDA ? torch::kCUDA : torch::kCPU, dtype);
  module.eval();
  // The graph executor would re-profile and re-specialize whenever atom or edge counts change.
  torch::jit::setGraphExecutorOptimize(false);
  backend = std::make_unique<TorchScriptBackend>(std::move(module), precision);
}

void ModelRunner::Impl::load_aoti(const std::string& path, const RunnerOptions& options) {
  try {
    auto entries =
        torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path, "model");
    std::string text;
    for (const auto& [key, value] : entries) text += key + "=" + value + "\n";
    if (entries.find("format_version") == entries.end())
      throw Error("package '" + path +
                  "' has no mlff_student metadata: compile it with "
                  "python -m mlff_student compile");
    metadata = ModelMetadata::parse(text);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("cannot load model package '" + path + "': " + first_line(e));
  }
  if (options.precision && *options.precision != metadata.precision)
    throw Error("package '" + path + "' was compiled for precision " +
                precision_name(metadata.precision) + ", not " + precision_name(*options.precision) +
                ": compile it again with --precision " + precision_name(*options.precision));
  if (options.device && device_name(*options.device) != metadata.device)
    throw Error("package '" + path + "' was compiled for device " + metadata.device + ", not " +
                device_name(*options.device));
  choose(options);
  try {
    backend = std::make_unique<AotiBackend>(path);
  } catch (const std::exception& e) {
    throw Error("cannot load model package '" + path + "': " + first_line(e));
  }
}

ModelRunner::ModelRunner(const std::string& path, const RunnerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!std::ifstream(path).good()) throw Error("cannot open model file '" + path + "'");
  if (ends_with(path, ".pt2"))
    impl_->load_aoti(path, options);
  else
    impl_->load_torchscript(path, options);
}

ModelRunner::~ModelRunner() = default;

const ModelMetadata& ModelRunner::metadata() const {
  return impl_->metadata;
}
Device ModelRunner::device() const {
  return impl_->device;
}
Precision ModelRunner::precision() const {
  return impl_->precision;
}

void ModelRunner::run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile) {
  Impl& m = *impl_;
  const std::int64_t n = graph.num_nodes(), e = graph.num_edges();
  if (n == 0) {
    out = ModelOutput();
    return;
  }
  const bool cuda = m.device == Device::CUDA;
  const at::Device device = cuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  const std::size_t fsize = m.dtype == at::kDouble ? 8 : 4;
  StageClock clock(profile);
  auto sync = [&] {
    if (profile && cuda) torch::cuda::synchronize();
  };

  // One staging buffer holds every input: z, src, dst (int64), edge_vec, energy_mask (dtype).
  const std::size_t off_src = align(8 * n), off_dst = off_src + align(8 * e),
                    off_vec = off_dst + align(8 * e), off_mask = off_vec + align(3 * e * fsize),
                    total = off_mask + align(n * fsize);
  ensure_bytes(m.host_in, total, at::TensorOptions().pinned_memory(cuda));
  auto* host = m.host_in.data_ptr<std::uint8_t>();
  std::memcpy(host, graph.z.data(), 8 * n);
  std::memcpy(host + off_src, graph.src.data(), 8 * e);
  std::memcpy(host + off_dst, graph.dst.data(), 8 * e);
  if (fsize == 8) {
    std::memcpy(host + off_vec, graph.edge_vec.data(), 3 * e * 8);
    std::memcpy(host + off_mask, graph.energy_mask.data(), n * 8);
  } else {
    auto* vec = reinterpret_cast<float*>(host + off_vec);
    for (std::int64_t k = 0; k < 3 * e; ++k) vec[k] = static_cast<float>(graph.edge_vec[k]);
    auto* mask = reinterpret_cast<float*>(host + off_mask);
    for (std::int64_t k = 0; k < n; ++k) mask[k] = static_cast<float>(graph.energy_mask[k]);
  }
  clock.lap("stage inputs");
  std::uint8_t* base = host;
  if (cuda) {
    ensure_bytes(m.device_in, total, at::TensorOptions().device(device));
    m.device_in.narrow(0, 0, total).copy_(m.host_in.narrow(0, 0, total), /*non_blocking=*/true);
    base = m.device_in.data_ptr<std::uint8_t>();
    sync();
    clock.lap("upload");
  }
  auto view = [&](std::size_t offset, std::vector<std::int64_t> shape, at::ScalarType t) {
    return at::from_blob(base + offset, shape, at::TensorOptions().dtype(t).device(device));
  };
  std::vector<at::Tensor> inputs{view(0, {n}, at::kLong), view(off_src, {e}, at::kLong),
                                 view(off_dst, {e}, at::kLong), view(off_vec, {e, 3}, m.dtype),
                                 view(off_mask, {n}, m.dtype)};

  std::vector<at::Tensor> result;
  try {
    if (cuda) at::globalContext().setAllowTF32CuBLAS(m.precision == Precision::TF32);
    result = m.backend->forward(inputs);
    sync();
    clock.lap("model");
  } catch (const std::exception& ex) {
    throw Error("model evaluation failed: " + cause(ex));
  }
  if (result.size() != 2 || result[0].numel() != n || result[1].numel() != 3 * e)
    throw Error("model returned outputs of the wrong shape (expected [" + std::to_string(n) +
                "] and [" + std::to_string(e) + ", 3])");

  // Both outputs come back in one transfer, as double.
  const std::int64_t count = n + 3 * e;
  ensure_bytes(m.host_out, 8 * count, at::TensorOptions().pinned_memory(cuda));
  at::Tensor host_out = at::from_blob(m.host_out.data_ptr(), {count}, at::kDouble);
  if (cuda) {
    ensure_bytes(m.device_out, 8 * count, at::TensorOptions().device(device));
    at::Tensor dev = at::from_blob(m.device_out.data_ptr(), {count},
                                   at::TensorOptions().dtype(at::kDouble).device(device));
    dev.narrow(0, 0, n).copy_(result[0].reshape({n}));
    dev.narrow(0, n, 3 * e).copy_(result[1].reshape({3 * e}));
    host_out.copy_(dev);
  } else {
    host_out.narrow(0, 0, n).copy_(result[0].reshape({n}));
    host_out.narrow(0, n, 3 * e).copy_(result[1].reshape({3 * e}));
  }
  clock.lap("download");
  out.node_energy = host_out.data_ptr<double>();
  out.edge_grad = out.node_energy + n;
}

}  // namespace mlff
