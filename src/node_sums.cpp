#include "node_sums.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace mlff {

NodeSums sum_onto_nodes(const LoadedModel& model, const at::Tensor& z, const at::Tensor& src,
                        const at::Tensor& dst, const at::Tensor& edge_vec,
                        const at::Tensor& energy_mask, int virial_width, GhostExchange* exchange) {
  const std::int64_t num_nodes = z.numel();
  const at::ScalarType dtype = model.input_dtype();
  const at::TensorOptions as_double = edge_vec.options().dtype(at::kDouble);
  const std::vector<at::Tensor> result =
      num_nodes > 0 || exchange
          ? model.forward({z, src, dst, edge_vec.to(dtype), energy_mask.to(dtype)}, exchange)
          : std::vector<at::Tensor>{at::zeros({0}, as_double), at::zeros({0, 3}, as_double)};
  NodeSums sums;
  sums.energy = result[0].reshape({num_nodes}).to(at::kDouble) * energy_mask;
  const at::Tensor grad = result[1].reshape({-1, 3}).to(at::kDouble);
  // A gradient g pushes src by -g and dst by +g.
  sums.force =
      at::zeros({num_nodes, 3}, as_double).index_add_(0, src, grad.neg()).index_add_(0, dst, grad);
  // Components r[a] g[b] of the outer product, row-major 3a + b, in the order xx yy zz xy xz yz,
  // then yx zx zy.
  const at::Tensor outer = (edge_vec.unsqueeze(2) * grad.unsqueeze(1)).view({-1, 9}).neg_();
  std::vector<at::Tensor> columns;
  for (const int k : {0, 4, 8, 1, 2, 5, 3, 6, 7}) columns.push_back(outer.select(1, k));
  columns.resize(std::max(virial_width, 6));
  sums.edge_virial = at::stack(columns, 1);
  if (virial_width > 0) {
    const at::Tensor half = 0.5 * sums.edge_virial.narrow(1, 0, virial_width);
    sums.virial = at::zeros({num_nodes, virial_width}, as_double)
                      .index_add_(0, src, half)
                      .index_add_(0, dst, half);
  }
  return sums;
}

}  // namespace mlff
