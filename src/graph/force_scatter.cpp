#include "graph/force_scatter.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace mlff {

namespace {
// -r (x) g in LAMMPS's order: xx yy zz xy xz yz, then (centroid virials) yx zx zy.
inline void edge_virial(const double* r, const double* g, double w[9]) {
  w[0] = -r[0] * g[0];
  w[1] = -r[1] * g[1];
  w[2] = -r[2] * g[2];
  w[3] = -r[0] * g[1];
  w[4] = -r[0] * g[2];
  w[5] = -r[1] * g[2];
  w[6] = -r[1] * g[0];
  w[7] = -r[2] * g[0];
  w[8] = -r[2] * g[1];
}
}  // namespace

// Below this many edges one thread is faster than summing per-thread rows.
constexpr std::int64_t kThreadedEdges = 50000;

// term(e, src_row, dst_row, virial) adds edge e's contributions; rows are Width wide.
template <int Width, class EdgeTerm>
Virial ForceScatter::scatter(const EdgeGraph& graph, double* out, EdgeTerm term) {
  const std::int64_t num_edges = graph.num_edges();
  const std::int64_t width = static_cast<std::int64_t>(graph.num_nodes()) * Width;
  const int threads = num_edges < kThreadedEdges ? 1 : omp_get_max_threads();
  Virial virial{};
  if (threads == 1) {
    for (std::int64_t e = 0; e < num_edges; ++e)
      term(e, out + Width * graph.src[e], out + Width * graph.dst[e], virial);
    return virial;
  }
  if (rows_.size() < static_cast<std::size_t>(threads) * width)
    rows_.resize(static_cast<std::size_t>(threads) * width);
  // One virial per thread, added in thread order: the same sum on every run.
  partial_.assign(threads, Virial{});
  int team = threads;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    double* rows = rows_.data() + t * width;
    std::fill(rows, rows + width, 0.0);
#pragma omp single
    team = omp_get_num_threads();  // the runtime may start fewer threads than asked for
    Virial local{};
#pragma omp for schedule(static)
    for (std::int64_t e = 0; e < num_edges; ++e)
      term(e, rows + Width * graph.src[e], rows + Width * graph.dst[e], local);
    partial_[t] = local;
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < width; ++i) {
      double sum = 0.0;
      for (int k = 0; k < team; ++k) sum += rows_[k * width + i];
      out[i] += sum;
    }
  }
  for (const Virial& p : partial_)
    for (int k = 0; k < 6; ++k) virial[k] += p[k];
  return virial;
}

Virial ForceScatter::forces(const EdgeGraph& graph, const double* edge_grad, double* node_force) {
  return scatter<3>(graph, node_force, [&](std::int64_t e, double* fs, double* fd, Virial& v) {
    const double* g = &edge_grad[3 * e];
    for (int a = 0; a < 3; ++a) {
      fs[a] -= g[a];
      fd[a] += g[a];
    }
    double w[9];
    edge_virial(&graph.edge_vec[3 * e], g, w);
    for (int k = 0; k < 6; ++k) v[k] += w[k];
  });
}

void ForceScatter::per_node_virial(const EdgeGraph& graph, const double* edge_grad,
                                   double* node_virial, int width) {
  auto half_to_each_end = [&](auto width_constant) {
    constexpr int kWidth = decltype(width_constant)::value;
    scatter<kWidth>(graph, node_virial, [&](std::int64_t e, double* vs, double* vd, Virial&) {
      double w[9];
      edge_virial(&graph.edge_vec[3 * e], &edge_grad[3 * e], w);
      for (int k = 0; k < kWidth; ++k) {
        vs[k] += 0.5 * w[k];
        vd[k] += 0.5 * w[k];
      }
    });
  };
  if (width == 9)
    half_to_each_end(std::integral_constant<int, 9>{});
  else
    half_to_each_end(std::integral_constant<int, 6>{});
}

double ForceScatter::energy(const EdgeGraph& graph, const double* node_energy) {
  double total = 0.0;
  if (!graph.energy_order.empty()) {
    for (int k : graph.energy_order) total += node_energy[k];
    return total;
  }
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
