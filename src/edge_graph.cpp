#include "edge_graph.h"

#include <cmath>
#include <string>

#include "buffer.h"
#include "mlff_error.h"

namespace mlff {

void EdgeGraph::build(const AtomArrays& atoms, const NeighborLists& neighbors,
                      const std::vector<int>& type_to_z, const int* node_of, int num_nodes,
                      double cutoff, double min_distance) {
  const double cutsq = cutoff * cutoff;
  const double min_distsq = min_distance * min_distance;
  const double* x = atoms.x;
  auto z_of = [&](int atom) { return type_to_z[atoms.type[atom]]; };

  resize_buffer(z, num_nodes);
  resize_buffer(energy_mask, num_nodes);
  for (int k = 0; k < num_nodes; ++k) {
    z[k] = z_of(k);
    energy_mask[k] = (k < atoms.nlocal && z[k] > 0) ? 1.0 : 0.0;
  }

  // Two passes over the centers, each split among threads: count the edges of every center, then
  // write them at their final offsets. Distances are computed twice, which costs less than
  // compacting an over-allocated list.
  const int num_centers = neighbors.num_centers;
  resize_buffer(edge_offset, num_centers + 1);
  auto for_each_edge = [&](int c, auto&& visit) {
    const int i = neighbors.centers[c];
    if (z_of(i) == 0) return;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const int* list = neighbors.neighbors[i];
    for (int n = 0; n < neighbors.num_neighbors[i]; ++n) {
      const int j = list[n] & neighbors.index_mask;
      if (z_of(j) == 0) continue;
      const double dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
      if (dx * dx + dy * dy + dz * dz <= cutsq) visit(i, j, dx, dy, dz);
    }
  };
  auto finite_at = [&](int c) {
    const double* xi = x + 3 * neighbors.centers[c];
    return std::isfinite(xi[0]) && std::isfinite(xi[1]) && std::isfinite(xi[2]);
  };
  bool finite_positions = true, apart = true;
#pragma omp parallel for schedule(static) reduction(&& : finite_positions, apart)
  for (int c = 0; c < num_centers; ++c) {
    finite_positions = finite_positions && finite_at(c);
    std::int64_t count = 0;
    for_each_edge(c, [&](int, int, double dx, double dy, double dz) {
      ++count;
      apart = apart && dx * dx + dy * dy + dz * dz >= min_distsq;
    });
    edge_offset[c + 1] = count;
  }
  // Name the first offending atom or pair, outside the parallel region.
  if (!finite_positions)
    for (int c = 0; c < num_centers; ++c)
      if (!finite_at(c))
        throw Error("non-finite position of atom index " + std::to_string(neighbors.centers[c]));
  if (!apart)
    for (int c = 0; c < num_centers; ++c)
      for_each_edge(c, [&](int i, int j, double dx, double dy, double dz) {
        const double d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < min_distsq) throw CloseAtoms(i, j, std::sqrt(d2), min_distance);
      });
  edge_offset[0] = 0;
  for (int c = 0; c < num_centers; ++c) edge_offset[c + 1] += edge_offset[c];

  const std::size_t num_edges = edge_offset[num_centers];
  resize_buffer(src, num_edges);
  resize_buffer(dst, num_edges);
  resize_buffer(edge_vec, 3 * num_edges);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < num_centers; ++c) {
    std::int64_t e = edge_offset[c];
    for_each_edge(c, [&](int i, int j, double dx, double dy, double dz) {
      src[e] = node_of ? node_of[j] : j;
      dst[e] = node_of ? node_of[i] : i;
      edge_vec[3 * e] = dx;
      edge_vec[3 * e + 1] = dy;
      edge_vec[3 * e + 2] = dz;
      ++e;
    });
  }
}

}  // namespace mlff
