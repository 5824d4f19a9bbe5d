#pragma once

#include <cstdint>
#include <vector>

#include "graph/atom_ids.h"
#include "graph/edge_graph.h"
#include "graph/engine_step.h"
#include "graph/force_scatter.h"
#include "model/model_runner.h"
#include "util/step_profile.h"

namespace mlff {

// An engine's arrays in host memory, LAMMPS layouts: owned atoms first, then ghosts.
struct HostArrays {
  AtomArrays atoms;          // positions and types
  AtomIds tag;               // atom IDs
  NeighborLists neighbors;   // a full neighbor list
  double* f = nullptr;       // [nall][3]: forces are added here
  double* eatom = nullptr;   // [nall] per-atom energies are added here, or nullptr
  double* vatom = nullptr;   // [nall][6] per-atom virials are added here, or nullptr
  double* cvatom = nullptr;  // [nall][9] per-atom centroid virials are added here, or nullptr
};

// One force evaluation with the graph in host memory: EdgeGraph builds it from the neighbor list
// on OpenMP threads, ModelRunner runs the model (on the CPU, or on a GPU with one transfer each
// way), ForceScatter sums forces and per-atom virials into node rows in double. Buffers are kept
// from step to step.
class StagedStep : public EngineStep<HostArrays> {
 public:
  // type_to_z[t]: atomic number of atom type t, 0 for NULL types; edges shorter than
  // min_distance stop a step.
  StagedStep(ModelRunner& model, std::vector<int> type_to_z, double cutoff,
             double min_distance = 0.0);

  StepTotals compute(const HostArrays& arrays, bool ghost_nodes, bool refresh_owners,
                     int virial_width, StepProfile* profile = nullptr,
                     ExchangeTransport* exchange = nullptr) override;
  void download_rows(const HostArrays& arrays, std::vector<double>& force,
                     std::vector<double>& virial) override;
  void upload_rows(const HostArrays& arrays, std::vector<double>& force,
                   std::vector<double>& virial) override;
  void add_to_engine(const HostArrays& arrays, int rows) override;
  std::int64_t num_edges() const override { return graph_.num_edges(); }

 private:
  void fold_ghosts_onto_owners(const HostArrays& arrays);

  ModelRunner& model_;
  std::vector<int> type_to_z_;
  double cutoff_, min_distance_;
  EdgeGraph graph_;
  ForceScatter scatter_;
  ModelOutput output_;
  std::vector<int> node_of_;            // atom -> node, when folding
  std::vector<std::int64_t> node_tag_;  // atom ID per node, for deterministic runs
  std::vector<double> node_force_;      // [3 * nodes]
  std::vector<double> node_virial_;     // [virial_width * nodes]
  int virial_width_ = 0;
};

}  // namespace mlff
