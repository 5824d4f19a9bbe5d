#pragma once

#include <cstdint>
#include <vector>

namespace mlff {

// LAMMPS-layout atom arrays, viewed without copying: owned atoms first, then ghosts.
struct AtomArrays {
  const double* x = nullptr;  // 3 per atom
  const int* type = nullptr;  // 1-based atom types
  int nlocal = 0;
  int nall = 0;
};

// A full neighbor list in LAMMPS's layout (ilist / numneigh / firstneigh).
struct NeighborLists {
  int num_centers = 0;
  const int* centers = nullptr;
  const int* num_neighbors = nullptr;
  const int* const* neighbors = nullptr;
  int index_mask = ~0;  // neighbor entries carry flags above these bits (LAMMPS's NEIGHMASK)
};

// The graph the model runs on. Node k is atom k; edges carry messages src -> dst with
// edge_vec = x[src image] - x[dst], grouped by center in neighbor-list order. Buffers keep their
// capacity from step to step; the build runs on OpenMP threads (OMP_NUM_THREADS).
class EdgeGraph {
 public:
  // type_to_z[t] is the atomic number of atom type t, 0 for types the model ignores (NULL).
  // node_of maps an atom to its node (a ghost to the atom it images, when ghosts are folded onto
  // their owners); nullptr makes every atom its own node. Nodes below atoms.nlocal count for the
  // energy. Throws mlff::Error on a non-finite position, and mlff::CloseAtoms (with atom
  // indices) when two atoms of an edge are closer than min_distance.
  void build(const AtomArrays& atoms, const NeighborLists& neighbors,
             const std::vector<int>& type_to_z, const int* node_of, int num_nodes, double cutoff,
             double min_distance = 0.0);

  // Reorders the edges so that every sum over them runs in an order fixed by the atoms alone,
  // not by their storage or neighbor-list order: centers by ID (ties, images of one atom, by
  // position), each center's edges by source ID and then edge vector. Node energies are then
  // summed by ID (energy_order). node_tag[k], x[3 k]: ID and position of node k.
  void order_canonically(const std::int64_t* node_tag, const double* x);

  int num_nodes() const { return static_cast<int>(z.size()); }
  std::int64_t num_edges() const { return static_cast<std::int64_t>(src.size()); }

  std::vector<std::int64_t> z;      // [N] atomic number, 0 for ignored atoms
  std::vector<double> energy_mask;  // [N] 1 where the node's energy counts, else 0
  std::vector<std::int64_t> src;    // [E]
  std::vector<std::int64_t> dst;    // [E]
  std::vector<double> edge_vec;     // [E * 3]
  // Owned nodes in the order their energies are summed; empty: node order.
  std::vector<int> energy_order;

 private:
  std::vector<std::int64_t> edge_offset;  // [centers + 1] first edge of each center
  // order_canonically's buffers: the edge permutation, the rows in order and where each begins.
  std::vector<std::int64_t> order_, order_rows_, order_start_;
  std::vector<std::int64_t> scratch_src_, scratch_dst_;
  std::vector<double> scratch_vec_;
};

}  // namespace mlff
