#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/version.h>
#ifdef MLFF_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <cstdio>

#include "model/backend.h"
#include "model/contract.h"
#include "model/model_runner.h"
#include "util/error.h"

namespace mlff {

namespace {

class AotiBackend : public ModelBackend {
 public:
  // Single-threaded runs record no events between calls, which CUDA graph capture requires.
  explicit AotiBackend(const std::string& path)
      : path_(path),
        loader_(std::make_unique<torch::inductor::AOTIModelPackageLoader>(
            path, contract::kPackageModel, /*run_single_threaded=*/true)) {}

  void place(Device, Precision) override {}  // compiled for one device and precision

  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs, bool exchange) override {
    // The package's second model is loaded when a run first needs it.
    if (exchange && !exchange_loader_)
      exchange_loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
          path_, contract::kPackageExchangeModel, /*run_single_threaded=*/true);
    torch::inductor::AOTIModelPackageLoader& loader = exchange ? *exchange_loader_ : *loader_;
#ifdef MLFF_CUDA
    if (inputs[0].is_cuda()) return loader.run(inputs, c10::cuda::getCurrentCUDAStream().stream());
#endif
    return loader.run(inputs);
  }

 private:
  std::string path_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_, exchange_loader_;
};

}  // namespace

ModelMetadata read_package_metadata(const std::string& path) {
  try {
    const auto entries = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(
        path, contract::kPackageModel);
    if (entries.find("format_version") == entries.end())
      throw Error("package '" + path +
                  "' has no mlff_student metadata: compile it with "
                  "python -m mlff_student compile");
    std::string text;
    for (const auto& [key, value] : entries) text += key + "=" + value + "\n";
    return ModelMetadata::parse(text);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("cannot load model package '" + path + "': " + first_line(e));
  }
}

// A package holds code compiled against one PyTorch's AOTInductor runtime and, for CUDA, for one
// GPU architecture; another runtime or GPU may fail to load it, or crash running it.
void check_package_runs_here(const std::string& path, const ModelMetadata& metadata,
                             Device device) {
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
#else
  (void)device;
#endif
}

std::unique_ptr<ModelBackend> open_aoti(const std::string& path) {
  try {
    return std::make_unique<AotiBackend>(path);
  } catch (const std::exception& e) {
    throw Error("cannot load model package '" + path + "': " + first_line(e));
  }
}

}  // namespace mlff
