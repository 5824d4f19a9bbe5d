#include "graph/edge_graph.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>

#include "util/buffer.h"
#include "util/error.h"

namespace mlff {

void EdgeGraph::build(const AtomArrays& atoms, const NeighborLists& neighbors,
                      const std::vector<int>& type_to_z, const int* node_of, int num_nodes,
                      double cutoff, double min_distance) {
  const double cutsq = cutoff * cutoff;
  const double min_distsq = min_distance * min_distance;
  const double* x = atoms.x;
  auto z_of = [&](int atom) { return type_to_z[atoms.type[atom]]; };

  energy_order.clear();
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
      if (!finite_at(c)) throw NonFinitePosition(neighbors.centers[c]);
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

void EdgeGraph::order_canonically(const std::int64_t* node_tag, const double* x) {
  const std::int64_t num_rows = static_cast<std::int64_t>(edge_offset.size()) - 1;
  auto position = [&](std::int64_t node) {
    return std::array<double, 3>{x[3 * node], x[3 * node + 1], x[3 * node + 2]};
  };
  // Rows (one per center, all edges into one node) by the ID and position of that node.
  std::vector<std::int64_t>& rows = order_rows_;
  rows.clear();
  for (std::int64_t r = 0; r < num_rows; ++r)
    if (edge_offset[r + 1] > edge_offset[r]) rows.push_back(r);
  std::sort(rows.begin(), rows.end(), [&](std::int64_t a, std::int64_t b) {
    const std::int64_t na = dst[edge_offset[a]], nb = dst[edge_offset[b]];
    if (node_tag[na] != node_tag[nb]) return node_tag[na] < node_tag[nb];
    return position(na) < position(nb);
  });
  std::vector<std::int64_t>& start = order_start_;
  resize_buffer(start, rows.size() + 1);
  start[0] = 0;
  for (std::size_t k = 0; k < rows.size(); ++k)
    start[k + 1] = start[k] + edge_offset[rows[k] + 1] - edge_offset[rows[k]];
  const std::int64_t e_total = num_edges();
  resize_buffer(order_, e_total);
  auto vec = [&](std::int64_t e) {
    return std::array<double, 3>{edge_vec[3 * e], edge_vec[3 * e + 1], edge_vec[3 * e + 2]};
  };
#pragma omp parallel for schedule(dynamic, 64)
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(rows.size()); ++k) {
    std::int64_t* out = order_.data() + start[k];
    std::iota(out, out + (start[k + 1] - start[k]), edge_offset[rows[k]]);
    std::sort(out, out + (start[k + 1] - start[k]), [&](std::int64_t a, std::int64_t b) {
      if (node_tag[src[a]] != node_tag[src[b]]) return node_tag[src[a]] < node_tag[src[b]];
      return vec(a) < vec(b);
    });
  }
  resize_buffer(scratch_src_, e_total);
  resize_buffer(scratch_dst_, e_total);
  resize_buffer(scratch_vec_, 3 * e_total);
#pragma omp parallel for schedule(static)
  for (std::int64_t e = 0; e < e_total; ++e) {
    const std::int64_t from = order_[e];
    scratch_src_[e] = src[from];
    scratch_dst_[e] = dst[from];
    for (int a = 0; a < 3; ++a) scratch_vec_[3 * e + a] = edge_vec[3 * from + a];
  }
  src.swap(scratch_src_);
  dst.swap(scratch_dst_);
  edge_vec.swap(scratch_vec_);

  // Nodes whose energy counts are owned atoms, whose IDs are unique.
  energy_order.clear();
  for (int k = 0; k < num_nodes(); ++k)
    if (energy_mask[k] != 0.0) energy_order.push_back(k);
  std::sort(energy_order.begin(), energy_order.end(),
            [&](int a, int b) { return node_tag[a] < node_tag[b]; });
}

}  // namespace mlff
