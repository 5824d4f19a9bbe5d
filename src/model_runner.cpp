#include "model_runner.h"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>
#ifdef MLFF_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "mlff_error.h"
#include "model_file.h"

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
    at::Tensor energy =
        module_.get_method("readout")({inputs[0], features.to(vec.scalar_type())}).toTensor();
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
  // Single-threaded runs record no events between calls, which CUDA graph capture requires.
  explicit AotiBackend(const std::string& path)
      : loader_(std::make_unique<torch::inductor::AOTIModelPackageLoader>(
            path, "model", /*run_single_threaded=*/true)) {}

  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) override {
#ifdef MLFF_CUDA
    if (inputs[0].is_cuda())
      return loader_->run(inputs, c10::cuda::getCurrentCUDAStream().stream());
#endif
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

// Where each model input lies in the one staging buffer, for a graph of `nodes` and `edges`
// (padded sizes when a CUDA graph runs the step): z, src, dst (int64), edge_vec, energy_mask.
struct InputLayout {
  InputLayout(std::int64_t nodes, std::int64_t edges, std::size_t float_size)
      : nodes(nodes), edges(edges), fsize(float_size) {
    src = align(8 * nodes);
    dst = src + align(8 * edges);
    vec = dst + align(8 * edges);
    mask = vec + align(3 * edges * fsize);
    total = mask + align(nodes * fsize);
  }
  std::int64_t nodes, edges;
  std::size_t fsize, src, dst, vec, mask, total;
  std::int64_t outputs() const { return nodes + 3 * edges; }  // doubles: energies, then gradients
};

// Padding edges join a padding node to itself, longer than the cutoff; no edge links padding to
// real nodes, so whatever padding nodes compute never reaches a real one. Spreading the padding
// edges over several nodes keeps their atomic adds from piling onto one address.
constexpr std::int64_t kPadEdgesPerNode = 64;

template <typename T>
void stage_floats(const EdgeGraph& g, const InputLayout& in, double pad_length,
                  std::uint8_t* host) {
  const std::int64_t n = g.num_nodes(), e = g.num_edges();
  auto* vec = reinterpret_cast<T*>(host + in.vec);
#pragma omp parallel for schedule(static) if (e > 4096)
  for (std::int64_t k = 0; k < 3 * e; ++k) vec[k] = static_cast<T>(g.edge_vec[k]);
  for (std::int64_t k = e; k < in.edges; ++k) {
    vec[3 * k] = static_cast<T>(pad_length);
    vec[3 * k + 1] = vec[3 * k + 2] = T(0);
  }
  auto* mask = reinterpret_cast<T*>(host + in.mask);
  for (std::int64_t k = 0; k < n; ++k) mask[k] = static_cast<T>(g.energy_mask[k]);
  std::fill(mask + n, mask + in.nodes, T(0));
}

void stage_inputs(const EdgeGraph& g, const InputLayout& in, double pad_length,
                  std::uint8_t* host) {
  const std::int64_t n = g.num_nodes(), e = g.num_edges();
  auto* z = reinterpret_cast<std::int64_t*>(host);
  std::memcpy(z, g.z.data(), 8 * n);
  std::fill(z + n, z + in.nodes, 0);
  auto* src = reinterpret_cast<std::int64_t*>(host + in.src);
  auto* dst = reinterpret_cast<std::int64_t*>(host + in.dst);
  std::memcpy(src, g.src.data(), 8 * e);
  std::memcpy(dst, g.dst.data(), 8 * e);
  const std::int64_t pad_nodes = in.nodes - n;
  for (std::int64_t k = e; k < in.edges; ++k) src[k] = dst[k] = n + (k - e) % pad_nodes;
  if (in.fsize == 8)
    stage_floats<double>(g, in, pad_length, host);
  else
    stage_floats<float>(g, in, pad_length, host);
}

// Both outputs, as double, into one buffer (one transfer): node energies, then edge gradients.
void pack_outputs(const std::vector<at::Tensor>& result, const InputLayout& in,
                  const at::Tensor& buffer) {
  at::Tensor all =
      at::from_blob(buffer.data_ptr(), {in.outputs()}, buffer.options().dtype(at::kDouble));
  all.narrow(0, 0, in.nodes).copy_(result[0].reshape({in.nodes}));
  all.narrow(0, in.nodes, 3 * in.edges).copy_(result[1].reshape({3 * in.edges}));
}

}  // namespace

struct ModelRunner::Impl {
  ModelMetadata metadata;
  Device device = Device::CPU;
  Precision precision = Precision::FP32;
  at::ScalarType dtype = at::kFloat;  // of edge vectors, masks and outputs
  CudaGraphMode graph_mode = CudaGraphMode::Auto;
  int cuda_index = -1;
  bool deterministic = false;
  std::unique_ptr<Backend> backend;
  at::Tensor host_in, device_in, device_out, host_out;
#ifdef MLFF_CUDA
  std::optional<c10::cuda::CUDAStream> stream;
  // One whole step (upload, model, download) captured for padded sizes; captured again only when
  // the graph outgrows them.
  std::unique_ptr<at::cuda::CUDAGraph> step_graph;
  std::int64_t graph_nodes = 0, graph_edges = 0;
#endif

  void load_torchscript(const std::string& path, const RunnerOptions& options);
  void load_aoti(const std::string& path, const RunnerOptions& options);
  void check_package_runs_here(const std::string& path) const;
  void choose(const RunnerOptions& options);
  std::vector<at::Tensor> checked_forward(const std::vector<at::Tensor>& inputs);
  std::vector<at::Tensor> forward(at::Device where, std::uint8_t* base, const InputLayout& in);
  void run_cpu(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile);
#ifdef MLFF_CUDA
  bool graphed(std::int64_t nodes) const;
  void run_cuda(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile);
  void enqueue_step(const InputLayout& in, StageClock* clock);
  void capture_step(const InputLayout& in);
#endif
};

CudaGraphMode parse_cuda_graph_mode(const std::string& name) {
  if (name == "auto") return CudaGraphMode::Auto;
  if (name == "yes") return CudaGraphMode::On;
  if (name == "no") return CudaGraphMode::Off;
  throw Error("cuda_graph must be auto, yes or no, not " + name);
}

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
#ifdef MLFF_CUDA
  // Every CUDA tensor, stream and graph of this process is then made on that GPU.
  if (device == Device::CUDA && options.cuda_device >= 0)
    c10::cuda::set_device(options.cuda_device % c10::cuda::device_count());
  if (device == Device::CUDA) cuda_index = c10::cuda::current_device();
#endif
  graph_mode = options.cuda_graph;
  if (graph_mode == CudaGraphMode::On && device != Device::CUDA)
    throw Error("cuda_graph yes needs device cuda");
  deterministic = options.deterministic;
  if (deterministic) {
    // Process-wide: index_add_ and the backward of gathers sort instead of adding atomically.
    // Memory LibTorch leaves uninitialised is still not filled, which would cost every step.
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
    at::globalContext().setDeterministicFillUninitializedMemory(false);
  }
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
  check_package_runs_here(path);
  try {
    backend = std::make_unique<AotiBackend>(path);
  } catch (const std::exception& e) {
    throw Error("cannot load model package '" + path + "': " + first_line(e));
  }
}

// A package holds code compiled against one PyTorch's AOTInductor runtime and, for CUDA, for one
// GPU architecture; another runtime or GPU may fail to load it, or crash running it.
void ModelRunner::Impl::check_package_runs_here(const std::string& path) const {
  const auto made_with = metadata.entries.find("torch_version");
  if (made_with != metadata.entries.end()) {
    int major = 0, minor = 0;
    std::sscanf(made_with->second.c_str(), "%d.%d", &major, &minor);
    if (major != TORCH_VERSION_MAJOR || minor != TORCH_VERSION_MINOR)
      throw Error("package '" + path + "' was compiled with PyTorch " + made_with->second +
                  ", but this plugin runs LibTorch " + libtorch_version() +
                  ": compile it again with python -m mlff_student compile where PyTorch " +
                  std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                  " is installed (the set-up's venv has it)");
  }
#ifdef MLFF_CUDA
  const auto arch = metadata.entries.find("AOTI_COMPUTE_CAPABILITY");
  if (device == Device::CUDA && arch != metadata.entries.end() && !arch->second.empty()) {
    const cudaDeviceProp* gpu = at::cuda::getCurrentDeviceProperties();
    const std::string here = std::to_string(gpu->major * 10 + gpu->minor);
    if (arch->second != here)
      throw Error("package '" + path + "' was compiled for GPUs of compute capability " +
                  arch->second + ", but this GPU (" + gpu->name + ") has " + here +
                  ": compile it again on this machine with python -m mlff_student compile");
  }
#endif
}

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

ModelRunner::ModelRunner(const std::string& path, const RunnerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (inspect_model_file(path) == ModelFormat::Aoti)
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
int ModelRunner::cuda_device() const {
  return impl_->cuda_index;
}
bool ModelRunner::deterministic() const {
  return impl_->deterministic;
}

std::vector<at::Tensor> ModelRunner::Impl::checked_forward(const std::vector<at::Tensor>& inputs) {
  const std::int64_t nodes = inputs[0].numel(), edges = inputs[1].numel();
  std::vector<at::Tensor> result;
  try {
    result = backend->forward(inputs);
  } catch (const std::exception& ex) {
    std::string why = cause(ex);
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

std::vector<at::Tensor> ModelRunner::Impl::forward(at::Device where, std::uint8_t* base,
                                                   const InputLayout& in) {
  auto view = [&](std::size_t offset, std::vector<std::int64_t> shape, at::ScalarType t) {
    return at::from_blob(base + offset, shape, at::TensorOptions().dtype(t).device(where));
  };
  return checked_forward({view(0, {in.nodes}, at::kLong), view(in.src, {in.edges}, at::kLong),
                          view(in.dst, {in.edges}, at::kLong), view(in.vec, {in.edges, 3}, dtype),
                          view(in.mask, {in.nodes}, dtype)});
}

void ModelRunner::Impl::run_cpu(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile) {
  StageClock clock(profile);
  const InputLayout in(graph.num_nodes(), graph.num_edges(), dtype == at::kDouble ? 8 : 4);
  ensure_bytes(host_in, in.total, at::TensorOptions());
  stage_inputs(graph, in, 0.0, host_in.data_ptr<std::uint8_t>());
  clock.lap("stage inputs");
  const std::vector<at::Tensor> result = forward(at::kCPU, host_in.data_ptr<std::uint8_t>(), in);
  clock.lap("model");
  ensure_bytes(host_out, 8 * in.outputs(), at::TensorOptions());
  pack_outputs(result, in, host_out);
  clock.lap("download");
  out.node_energy = reinterpret_cast<const double*>(host_out.data_ptr());
  out.edge_grad = out.node_energy + in.nodes;
}

#ifdef MLFF_CUDA

namespace {
void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw Error(std::string(what) + " failed: " + cudaGetErrorString(status));
}
}  // namespace

// Launches cost about 0.5 ms a step; beyond this size the padding costs more than that (H100).
constexpr std::int64_t kGraphAutoMaxNodes = 5000;

bool ModelRunner::Impl::graphed(std::int64_t nodes) const {
  return graph_mode == CudaGraphMode::On ||
         (graph_mode == CudaGraphMode::Auto && nodes <= kGraphAutoMaxNodes);
}

// Upload, model and download on the current stream, with no host synchronization unless a
// profile asks for per-stage times; the buffers must already fit `in`.
void ModelRunner::Impl::enqueue_step(const InputLayout& in, StageClock* clock) {
  const cudaStream_t s = c10::cuda::getCurrentCUDAStream().stream();
  auto lap = [&](const char* stage) {
    if (!clock) return;
    check_cuda(cudaStreamSynchronize(s), "CUDA stream synchronization");
    clock->lap(stage);
  };
  check_cuda(cudaMemcpyAsync(device_in.data_ptr(), host_in.data_ptr(), in.total,
                             cudaMemcpyHostToDevice, s),
             "upload of the model inputs");
  lap("upload");
  const std::vector<at::Tensor> result =
      forward(at::Device(at::kCUDA), device_in.data_ptr<std::uint8_t>(), in);
  lap("model");
  pack_outputs(result, in, device_out);
  check_cuda(cudaMemcpyAsync(host_out.data_ptr(), device_out.data_ptr(), 8 * in.outputs(),
                             cudaMemcpyDeviceToHost, s),
             "download of the model outputs");
  lap("download");
}

void ModelRunner::Impl::capture_step(const InputLayout& in) {
  step_graph.reset();
  // A first run outside the capture loads kernels and fills the allocator's caches.
  enqueue_step(in, nullptr);
  stream->synchronize();
  step_graph = std::make_unique<at::cuda::CUDAGraph>();
  step_graph->capture_begin();
  try {
    enqueue_step(in, nullptr);
  } catch (...) {
    try {
      step_graph->capture_end();
    } catch (...) {
    }
    step_graph.reset();
    throw;
  }
  try {
    step_graph->capture_end();
  } catch (const std::exception& ex) {
    step_graph.reset();
    throw Error("CUDA graph capture of the model failed (" + first_line(ex) +
                "): run it with cuda_graph no");
  }
}

void ModelRunner::Impl::run_cuda(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile) {
  StageClock clock(profile);
  const std::int64_t n = graph.num_nodes(), e = graph.num_edges();
  const std::size_t fsize = dtype == at::kDouble ? 8 : 4;
  const bool use_graph = graphed(n);
  bool capture = false;
  if (use_graph) {
    // Room for at least one padding node and for the padding edges on the padding nodes.
    auto fits = [&](std::int64_t nodes, std::int64_t edges) {
      return e <= edges && n + 1 + (edges - e + kPadEdgesPerNode - 1) / kPadEdgesPerNode <= nodes;
    };
    if (!step_graph || !fits(graph_nodes, graph_edges)) {
      // Margins of 1/16 keep the padding cheap; edge counts drift slowly in MD, so the graph is
      // captured again only now and then.
      graph_edges = e + std::max<std::int64_t>(64, e / 16);
      graph_nodes = n + std::max<std::int64_t>(16, n / 16) + graph_edges / kPadEdgesPerNode + 1;
      capture = true;
    }
  } else {
    step_graph.reset();
  }
  const InputLayout in =
      use_graph ? InputLayout(graph_nodes, graph_edges, fsize) : InputLayout(n, e, fsize);
  if (!stream) stream = c10::cuda::getStreamFromPool();
  c10::cuda::CUDAStreamGuard guard(*stream);
  at::globalContext().setAllowTF32CuBLAS(precision == Precision::TF32);
  // Buffers grow before a capture, never between replays of one graph.
  ensure_bytes(host_in, in.total, at::TensorOptions().pinned_memory(true));
  ensure_bytes(host_out, 8 * in.outputs(), at::TensorOptions().pinned_memory(true));
  ensure_bytes(device_in, in.total, at::TensorOptions().device(at::kCUDA));
  ensure_bytes(device_out, 8 * in.outputs(), at::TensorOptions().device(at::kCUDA));
  stage_inputs(graph, in, 2.0 * metadata.cutoff + 1.0, host_in.data_ptr<std::uint8_t>());
  clock.lap("stage inputs");
  if (use_graph) {
    if (capture) capture_step(in);
    step_graph->replay();
    stream->synchronize();
    clock.lap("device step (CUDA graph)");
  } else {
    enqueue_step(in, profile ? &clock : nullptr);
    stream->synchronize();
  }
  out.node_energy = reinterpret_cast<const double*>(host_out.data_ptr());
  out.edge_grad = out.node_energy + in.nodes;
}

#endif  // MLFF_CUDA

std::vector<at::Tensor> ModelRunner::run_tensors(const std::vector<at::Tensor>& inputs) {
  if (inputs.size() != 5) throw Error("run_tensors takes z, src, dst, edge_vec, energy_mask");
  if (impl_->device == Device::CUDA)
    at::globalContext().setAllowTF32CuBLAS(impl_->precision == Precision::TF32);
  return impl_->checked_forward(inputs);
}

void ModelRunner::run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile) {
  if (graph.num_nodes() == 0) {
    out = ModelOutput();
    return;
  }
#ifdef MLFF_CUDA
  if (impl_->device == Device::CUDA) return impl_->run_cuda(graph, out, profile);
#endif
  impl_->run_cpu(graph, out, profile);
}

}  // namespace mlff
