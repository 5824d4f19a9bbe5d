// Benzene as a model graph, shared by the model runner's tests.
#pragma once

#include <cstdint>

#include "graph/edge_graph.h"

namespace mlff_test {

// Benzene at ASE's molecule('C6H6') geometry, with every pair within the cutoff as an edge. The
// test set-up evaluates its models at this geometry (<model>_benzene_energy.txt), and
// MLFF-Distiller's 427K model is known by its energy here.
inline mlff::EdgeGraph benzene() {
  const double atoms[12][4] = {
      {6, 0.000000, 1.395248, 0},  {6, 1.208320, 0.697624, 0},   {6, 1.208320, -0.697624, 0},
      {6, 0.000000, -1.395248, 0}, {6, -1.208320, -0.697624, 0}, {6, -1.208320, 0.697624, 0},
      {1, 0.000000, 2.482360, 0},  {1, 2.149787, 1.241180, 0},   {1, 2.149787, -1.241180, 0},
      {1, 0.000000, -2.482360, 0}, {1, -2.149787, -1.241180, 0}, {1, -2.149787, 1.241180, 0}};
  mlff::EdgeGraph g;
  for (const auto& a : atoms) {
    g.z.push_back(static_cast<std::int64_t>(a[0]));
    g.energy_mask.push_back(1.0);
  }
  for (int d = 0; d < 12; ++d)
    for (int s = 0; s < 12; ++s) {
      if (s == d) continue;
      g.src.push_back(s);
      g.dst.push_back(d);
      for (int a = 1; a <= 3; ++a) g.edge_vec.push_back(atoms[s][a] - atoms[d][a]);
    }
  return g;
}

}  // namespace mlff_test
