#include "force_scatter.h"

#include <cmath>
#include <cstdint>

namespace mlff {

namespace {
inline void edge_virial(const double* r, const double* g, double w[6]) {
  w[0] = -r[0] * g[0];
  w[1] = -r[1] * g[1];
  w[2] = -r[2] * g[2];
  w[3] = -r[0] * g[1];
  w[4] = -r[0] * g[2];
  w[5] = -r[1] * g[2];
}
}  // namespace

Virial ForceScatter::forces(const EdgeGraph& graph, const double* edge_grad, double* node_force) {
  Virial virial{};
  const std::int64_t num_edges = graph.num_edges();
  for (std::int64_t e = 0; e < num_edges; ++e) {
    const double* g = &edge_grad[3 * e];
    double* fs = node_force + 3 * graph.src[e];
    double* fd = node_force + 3 * graph.dst[e];
    for (int a = 0; a < 3; ++a) {
      fs[a] -= g[a];
      fd[a] += g[a];
    }
    double w[6];
    edge_virial(&graph.edge_vec[3 * e], g, w);
    for (int k = 0; k < 6; ++k) virial[k] += w[k];
  }
  return virial;
}

void ForceScatter::per_node_virial(const EdgeGraph& graph, const double* edge_grad,
                                   double* node_virial) {
  const std::int64_t num_edges = graph.num_edges();
  for (std::int64_t e = 0; e < num_edges; ++e) {
    double w[6];
    edge_virial(&graph.edge_vec[3 * e], &edge_grad[3 * e], w);
    double* vs = node_virial + 6 * graph.src[e];
    double* vd = node_virial + 6 * graph.dst[e];
    for (int k = 0; k < 6; ++k) {
      vs[k] += 0.5 * w[k];
      vd[k] += 0.5 * w[k];
    }
  }
}

double ForceScatter::energy(const EdgeGraph& graph, const double* node_energy) {
  double total = 0.0;
  for (int k = 0; k < graph.num_nodes(); ++k) total += graph.energy_mask[k] * node_energy[k];
  return total;
}

bool ForceScatter::finite(double energy, const Virial& virial) {
  if (!std::isfinite(energy)) return false;
  for (double w : virial)
    if (!std::isfinite(w)) return false;
  return true;
}

}  // namespace mlff
