#include "staged/staged_cuda_graph.h"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "util/error.h"

namespace mlff {

std::unique_ptr<at::cuda::CUDAGraph> capture_cuda_graph(const std::function<void()>& enqueue,
                                                        const std::string& what) {
  enqueue();
  c10::cuda::getCurrentCUDAStream().synchronize();
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  graph->capture_begin();
  try {
    enqueue();
  } catch (...) {
    try {
      graph->capture_end();
    } catch (...) {
    }
    throw;
  }
  try {
    graph->capture_end();
  } catch (const std::exception& ex) {
    throw Error("CUDA graph capture of " + what + " failed (" + first_line(ex) +
                "): run it with cuda_graph no");
  }
  return graph;
}

void replay_and_wait(at::cuda::CUDAGraph& graph, c10::cuda::CUDAStream stream,
                     StepProfile* profile) {
  if (!profile) {
    graph.replay();
    stream.synchronize();
    return;
  }
  at::cuda::CUDAEvent start(cudaEventDefault), end(cudaEventDefault);
  start.record(stream);
  graph.replay();
  end.record(stream);
  end.synchronize();
  profile->add_part("CUDA graph on the GPU", 1e-3 * start.elapsed_time(end));
}

// Upload, model and download on the current stream, with no host synchronization unless a
// profile asks for per-stage times; the buffers must already fit `in`.
void StagedCudaGraph::enqueue(const InputLayout& in, StageClock* clock,
                              ExchangeTransport* exchange) {
  const cudaStream_t s = c10::cuda::getCurrentCUDAStream().stream();
  auto lap = [&](const char* stage) {
    if (!clock) return;
    check_cuda(cudaStreamSynchronize(s), "CUDA stream synchronization");
    clock->lap(stage);
  };
  check_cuda(cudaMemcpyAsync(device_in_.data_ptr(), host_in_.data_ptr(), in.total,
                             cudaMemcpyHostToDevice, s),
             "upload of the model inputs");
  lap("upload");
  const std::vector<at::Tensor> result =
      model_.forward(input_views(device_in_.data_ptr<std::uint8_t>(), in, model_.torch_device(),
                                 model_.input_dtype()),
                     exchange);
  lap("model");
  pack_outputs(result, in, device_out_);
  check_cuda(cudaMemcpyAsync(host_out_.data_ptr(), device_out_.data_ptr(), 8 * in.outputs(),
                             cudaMemcpyDeviceToHost, s),
             "download of the model outputs");
  lap("download");
}

void StagedCudaGraph::capture(const InputLayout& in) {
  graph_.reset();
  graph_ = capture_cuda_graph([&] { enqueue(in, nullptr); }, "the model");
}

void StagedCudaGraph::run(const EdgeGraph& graph, ModelOutput& out, StepProfile* profile,
                          ExchangeTransport* exchange) {
  StageClock clock(profile);
  const std::int64_t n = graph.num_nodes(), e = graph.num_edges();
  const std::size_t fsize = model_.input_dtype() == at::kDouble ? 8 : 4;
  const bool use_graph = !exchange && model_.graphed(n);
  bool recapture = false;
  if (use_graph) {
    // Room for at least one padding node and for the padding edges on the padding nodes.
    auto fits = [&](std::int64_t nodes, std::int64_t edges) {
      return e <= edges && n + 1 + (edges - e + kPadEdgesPerNode - 1) / kPadEdgesPerNode <= nodes;
    };
    if (!graph_ || !fits(capacity_nodes_, capacity_edges_)) {
      capacity_edges_ = capacity_for(e, 64);
      capacity_nodes_ = capacity_for(n, 16) + capacity_edges_ / kPadEdgesPerNode + 1;
      recapture = true;
    }
  } else {
    graph_.reset();
  }
  const InputLayout in =
      use_graph ? InputLayout(capacity_nodes_, capacity_edges_, fsize) : InputLayout(n, e, fsize);
  if (!stream_) stream_ = c10::cuda::getStreamFromPool();
  c10::cuda::CUDAStreamGuard guard(*stream_);
  // Buffers grow before a capture, never between replays of one graph.
  ensure_bytes(host_in_, in.total, at::TensorOptions().pinned_memory(true));
  ensure_bytes(host_out_, 8 * in.outputs(), at::TensorOptions().pinned_memory(true));
  ensure_bytes(device_in_, in.total, at::TensorOptions().device(model_.torch_device()));
  ensure_bytes(device_out_, 8 * in.outputs(), at::TensorOptions().device(model_.torch_device()));
  stage_inputs(graph, in, 2.0 * model_.metadata.cutoff + 1.0, host_in_.data_ptr<std::uint8_t>());
  clock.lap("stage inputs");
  if (use_graph) {
    if (recapture) capture(in);
    replay_and_wait(*graph_, *stream_, profile);
    clock.lap("device step (CUDA graph)");
  } else {
    enqueue(in, profile ? &clock : nullptr, exchange);
    stream_->synchronize();
  }
  out.node_energy = reinterpret_cast<const double*>(host_out_.data_ptr());
  out.edge_grad = out.node_energy + in.nodes;
}

}  // namespace mlff
