#pragma once

// The plain style's model evaluation on a GPU. Internal to the core: it includes LibTorch.

#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "graph/edge_graph.h"
#include "model/loaded_model.h"
#include "model/model_runner.h"
#include "staged/input_staging.h"
#include "util/cuda_check.h"
#include "util/step_profile.h"

namespace mlff {

// Runs enqueue once on the current stream (it loads the kernels and fills the allocator's caches),
// then captures a second run as a CUDA graph. Throws mlff::Error naming `what` when the capture
// fails.
std::unique_ptr<at::cuda::CUDAGraph> capture_cuda_graph(const std::function<void()>& enqueue,
                                                        const std::string& what);

// The capacity a captured graph is made for: `needed` and a margin of 1/16, at least
// minimum_margin. Sizes drift slowly in MD, so a graph is captured again only now and then.
inline std::int64_t capacity_for(std::int64_t needed, std::int64_t minimum_margin) {
  return needed + std::max(minimum_margin, needed / 16);
}

// Replays a captured graph on `stream` and waits for it. With a profile, its time on the GPU
// (CUDA events around the replay) becomes the part "CUDA graph on the GPU": the rest of the stage
// it lies in is host work and waiting.
void replay_and_wait(at::cuda::CUDAGraph& graph, c10::cuda::CUDAStream stream,
                     StepProfile* profile);

// Inputs go up in one transfer and results come down in one, on a stream of its own. Up to a
// size (cuda_graph auto), or always (yes), the whole step (upload, model, download) is captured
// once as a CUDA graph for inputs padded to a capacity and replayed; it is captured again only
// when the graph outgrows the capacity. Buffers persist and grow geometrically.
class StagedCudaGraph {
 public:
  explicit StagedCudaGraph(const LoadedModel& model) : model_(model) {}

  // out points into this object's pinned host buffer until the next run. A run with a ghost
  // exchange is never graphed: the exchange calls the engine between kernels.
  void run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile,
           ExchangeTransport* exchange = nullptr);

 private:
  void enqueue(const InputLayout& in, StageClock* clock, ExchangeTransport* exchange = nullptr);
  void capture(const InputLayout& in);

  const LoadedModel& model_;
  at::Tensor host_in_, device_in_, device_out_, host_out_;
  std::optional<c10::cuda::CUDAStream> stream_;
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  std::int64_t capacity_nodes_ = 0, capacity_edges_ = 0;
};

}  // namespace mlff
