#pragma once

#include <array>
#include <vector>

#include "graph/edge_graph.h"

namespace mlff {

// Virial components in LAMMPS's order: xx, yy, zz, xy, xz, yz.
using Virial = std::array<double, 6>;

// Turns dE/d(edge_vec) into forces and virials. Since edge_vec = x[src] - x[dst], an edge
// gradient g pushes src by -g and dst by +g, and contributes -edge_vec (x) g to the virial.
// All accumulation is in double. Large graphs are scattered on OpenMP threads, each into its own
// rows, which are then summed per node; those rows are kept from step to step.
class ForceScatter {
 public:
  // node_force[3N] += forces; returns the global virial of the edges.
  Virial forces(const EdgeGraph& graph, const double* edge_grad, double* node_force);

  // node_virial[width * N] += per-node virials, half of each edge's virial to either end. Width 6
  // gives xx yy zz xy xz yz; width 9 adds yx zx zy, the centroid virial, which is not symmetric
  // per atom for a many-body model.
  void per_node_virial(const EdgeGraph& graph, const double* edge_grad, double* node_virial,
                       int width = 6);

  // Sum of the energies of the nodes that count (energy_mask).
  static double energy(const EdgeGraph& graph, const double* node_energy);

  // False when a model output was not finite: a non-finite edge gradient makes the virial
  // non-finite, a non-finite node energy the energy.
  static bool finite(double energy, const Virial& virial);

 private:
  template <int Width, class EdgeTerm>
  Virial scatter(const EdgeGraph& graph, double* out, EdgeTerm term);

  std::vector<double> rows_;     // [threads][N * width]
  std::vector<Virial> partial_;  // [threads]
};

}  // namespace mlff
