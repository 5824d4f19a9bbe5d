#pragma once

// A graph's model inputs in one byte buffer, so that they reach a GPU in one transfer, and the
// outputs in one buffer of doubles. Internal to the core: it includes LibTorch.

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "graph/edge_graph.h"

namespace mlff {

// Where each model input lies in the staging buffer, for a graph of `nodes` and `edges` (padded
// sizes when a CUDA graph runs the step): z, src, dst (int64), edge_vec, energy_mask (of the
// model's input dtype, float_size bytes).
struct InputLayout {
  InputLayout(std::int64_t nodes, std::int64_t edges, std::size_t float_size);
  std::int64_t nodes, edges;
  std::size_t fsize, src, dst, vec, mask, total;
  std::int64_t outputs() const { return nodes + 3 * edges; }  // doubles: energies, then gradients
};

// Padding edges join a padding node to itself, longer than the cutoff; no edge links padding to
// real nodes, so whatever padding nodes compute never reaches a real one. Spreading the padding
// edges over several nodes keeps their atomic adds from piling onto one address.
constexpr std::int64_t kPadEdgesPerNode = 64;

// A byte buffer that keeps its capacity and doubles when it must grow.
void ensure_bytes(at::Tensor& buffer, std::size_t bytes, const at::TensorOptions& options);

// Writes the graph's inputs into host memory laid out as `in`; padding edges get length
// pad_length along x.
void stage_inputs(const EdgeGraph& graph, const InputLayout& in, double pad_length,
                  std::uint8_t* host);

// The five inputs as tensors on `where` over a buffer laid out as `in`.
std::vector<at::Tensor> input_views(std::uint8_t* base, const InputLayout& in, at::Device where,
                                    at::ScalarType dtype);

// Both outputs, as double, into one buffer (one transfer): node energies, then edge gradients.
void pack_outputs(const std::vector<at::Tensor>& result, const InputLayout& in,
                  const at::Tensor& buffer);

}  // namespace mlff
