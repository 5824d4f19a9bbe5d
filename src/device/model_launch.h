#pragma once

// The model on an edge graph that lies on its device, and its edge gradients summed onto nodes:
// shared by the device step's eager and captured paths. Internal to the core: it includes
// LibTorch.

#include <ATen/core/Tensor.h>

#include "exchange/transport.h"
#include "model/loaded_model.h"

namespace mlff {

struct ModelSums {
  at::Tensor energy;      // [nodes] float64, masked by energy_mask
  at::Tensor force;       // [nodes, 3] float64
  at::Tensor virial;      // [nodes, virial_width] float64; undefined for width 0
  at::Tensor virial_sum;  // [3, 3] float64, sum over edges of edge_vec[a] edge_grad[b]
};

// z [nodes] int64, src and dst [edges] int64 node indices, edge_vec [edges, 3] float64 with
// edge_vec = x[src] - x[dst], energy_mask [nodes] (1 for the energies that count; float64 or the
// model's input type). virial_width: 0, 6 or 9 (see node_virials). Creates no tensor from host
// memory, so a CUDA graph can capture it.
ModelSums launch_model(const LoadedModel& model, const at::Tensor& z, const at::Tensor& src,
                       const at::Tensor& dst, const at::Tensor& edge_vec,
                       const at::Tensor& energy_mask, int virial_width,
                       ExchangeTransport* exchange = nullptr);

// Per-node virials [nodes, width] float64, width 6 (xx yy zz xy xz yz) or 9 (also yx zx zy):
// each edge's virial -edge_vec (x) edge_grad goes half to either end.
at::Tensor node_virials(const at::Tensor& src, const at::Tensor& dst, const at::Tensor& edge_vec,
                        const at::Tensor& edge_grad, std::int64_t num_nodes, int width);

// The global virial (xx yy zz xy xz yz) from ModelSums::virial_sum, read on the host.
void virial_from_sum(const double* virial_sum, double* virial);

}  // namespace mlff
