#include "device/model_launch.h"

#include <ATen/ATen.h>

#include <vector>

namespace mlff {

namespace {

// Row-major components 3a + b of r (x) g in the order xx yy zz xy xz yz, then yx zx zy.
constexpr int kVirialComponents[9] = {0, 4, 8, 1, 2, 5, 3, 6, 7};

}  // namespace

ModelSums launch_model(const LoadedModel& model, const at::Tensor& z, const at::Tensor& src,
                       const at::Tensor& dst, const at::Tensor& edge_vec,
                       const at::Tensor& energy_mask, int virial_width,
                       ExchangeTransport* exchange) {
  const std::int64_t num_nodes = z.numel();
  const at::ScalarType dtype = model.input_dtype();
  const at::TensorOptions as_double = edge_vec.options().dtype(at::kDouble);
  const std::vector<at::Tensor> result =
      num_nodes > 0 || exchange
          ? model.forward({z, src, dst, edge_vec.to(dtype), energy_mask.to(dtype)}, exchange)
          : std::vector<at::Tensor>{at::zeros({0}, as_double), at::zeros({0, 3}, as_double)};
  ModelSums sums;
  sums.energy = result[0].reshape({num_nodes}).to(at::kDouble) * energy_mask;
  const at::Tensor edge_grad = result[1].reshape({-1, 3}).to(at::kDouble);
  // A gradient g pushes src by -g and dst by +g.
  sums.force = at::zeros({num_nodes, 3}, as_double)
                   .index_add_(0, src, edge_grad, -1)
                   .index_add_(0, dst, edge_grad);
  sums.virial_sum = (edge_vec.unsqueeze(2) * edge_grad.unsqueeze(1)).sum(0);
  if (virial_width > 0)
    sums.virial = node_virials(src, dst, edge_vec, edge_grad, num_nodes, virial_width);
  return sums;
}

at::Tensor node_virials(const at::Tensor& src, const at::Tensor& dst, const at::Tensor& edge_vec,
                        const at::Tensor& edge_grad, std::int64_t num_nodes, int width) {
  const at::Tensor outer = (edge_vec.unsqueeze(2) * edge_grad.unsqueeze(1)).view({-1, 9});
  std::vector<at::Tensor> columns;
  for (int k = 0; k < width; ++k) columns.push_back(outer.select(1, kVirialComponents[k]));
  const at::Tensor half = -0.5 * at::stack(columns, 1);
  return at::zeros({num_nodes, width}, edge_vec.options().dtype(at::kDouble))
      .index_add_(0, src, half)
      .index_add_(0, dst, half);
}

void virial_from_sum(const double* virial_sum, double* virial) {
  for (int k = 0; k < 6; ++k) virial[k] = -virial_sum[kVirialComponents[k]];
}

}  // namespace mlff
