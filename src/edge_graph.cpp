#include "edge_graph.h"

#include <cmath>
#include <string>

#include "buffer.h"
#include "mlff_error.h"

namespace mlff {

void EdgeGraph::build(const AtomArrays& atoms, const NeighborLists& neighbors,
                      const std::vector<int>& type_to_z, const int* node_of, int num_nodes,
                      double cutoff) {
  const double cutsq = cutoff * cutoff;
  const double* x = atoms.x;
  auto z_of = [&](int atom) { return type_to_z[atoms.type[atom]]; };

  resize_buffer(z, num_nodes);
  resize_buffer(energy_mask, num_nodes);
  for (int k = 0; k < num_nodes; ++k) {
    z[k] = z_of(k);
    energy_mask[k] = (k < atoms.nlocal && z[k] > 0) ? 1.0 : 0.0;
  }

  // Sized for every listed neighbor (an upper bound), written by index, then trimmed: no
  // per-edge growth checks, and the capacity stays for the next step.
  std::size_t bound = 0;
  for (int c = 0; c < neighbors.num_centers; ++c)
    bound += neighbors.num_neighbors[neighbors.centers[c]];
  resize_buffer(src, bound);
  resize_buffer(dst, bound);
  resize_buffer(edge_vec, 3 * bound);
  std::int64_t* out_src = src.data();
  std::int64_t* out_dst = dst.data();
  double* out_vec = edge_vec.data();
  std::size_t e = 0;
  for (int c = 0; c < neighbors.num_centers; ++c) {
    const int i = neighbors.centers[c];
    if (z_of(i) == 0) continue;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    if (!std::isfinite(xi) || !std::isfinite(yi) || !std::isfinite(zi))
      throw Error("non-finite position of atom index " + std::to_string(i));
    const int node_i = node_of ? node_of[i] : i;
    const int* list = neighbors.neighbors[i];
    for (int n = 0; n < neighbors.num_neighbors[i]; ++n) {
      const int j = list[n] & neighbors.index_mask;
      if (z_of(j) == 0) continue;
      const double dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
      if (dx * dx + dy * dy + dz * dz > cutsq) continue;
      out_src[e] = node_of ? node_of[j] : j;
      out_dst[e] = node_i;
      out_vec[3 * e] = dx;
      out_vec[3 * e + 1] = dy;
      out_vec[3 * e + 2] = dz;
      ++e;
    }
  }
  src.resize(e);
  dst.resize(e);
  edge_vec.resize(3 * e);
}

}  // namespace mlff
