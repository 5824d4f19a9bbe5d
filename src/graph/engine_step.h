#pragma once

#include <cstdint>
#include <vector>

#include "exchange/transport.h"
#include "graph/force_scatter.h"
#include "util/step_profile.h"

namespace mlff {

// What a force evaluation returns to the engine each step.
struct StepTotals {
  double energy = 0.0;  // of the owned atoms, eV
  Virial virial = {};   // eV
};

// What an engine calls each step, whichever memory its arrays lie in (StagedStep: host memory;
// DeviceStep: the model's device). Arrays: the engine's arrays in LAMMPS layouts, owned atoms
// first, then ghosts, with its forces and per-atom energies and virials to add to. Both steps keep
// the same graph rules: edges within the cutoff between atoms of non-NULL types,
// edge_vec = x[src] - x[dst], ghosts folded onto the atoms they image or kept as nodes.
template <class Arrays>
class EngineStep {
 public:
  virtual ~EngineStep() = default;

  // Builds the graph and runs the model. ghost_nodes: ghosts are graph nodes (several ranks);
  // otherwise they are folded onto owners, a map rebuilt when refresh_owners (reneighboring).
  // exchange (with ghost_nodes): the neighbor list has owned centers only, one cutoff of ghosts,
  // and ghost features are exchanged layer by layer through it (exchange/transport.h).
  // virial_width: per-node virial rows of 0, 6 (xx yy zz xy xz yz) or 9 components (also
  // yx zx zy, for centroid virials). Throws mlff::Error on non-finite positions or model
  // outputs, or a ghost without an owner, and mlff::CloseAtoms (naming atom IDs) on overlapping
  // atoms. A profile times the stages separately.
  virtual StepTotals compute(const Arrays& arrays, bool ghost_nodes, bool refresh_owners,
                             int virial_width, StepProfile* profile = nullptr,
                             ExchangeTransport* exchange = nullptr) = 0;

  // Node rows out to host vectors and back, for a reverse communication the engine does on them
  // in between. A step whose rows are in host memory hands its buffers over instead of copying:
  // the vectors' contents are the step's until upload_rows.
  virtual void download_rows(const Arrays& arrays, std::vector<double>& force,
                             std::vector<double>& virial) = 0;
  virtual void upload_rows(const Arrays& arrays, std::vector<double>& force,
                           std::vector<double>& virial) = 0;

  // Adds node rows [0, rows) to the engine's forces (and per-atom virials), and the energies of
  // owned atoms to its per-atom energies, where those are given.
  virtual void add_to_engine(const Arrays& arrays, int rows) = 0;

  virtual std::int64_t num_edges() const = 0;  // of the last graph
};

}  // namespace mlff
