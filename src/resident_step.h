#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "atom_ids.h"
#include "force_scatter.h"
#include "model_runner.h"
#include "step_profile.h"

namespace mlff {

// An engine's arrays, used in place in the memory the model runs in: host memory for a CPU
// model, CUDA device memory for a CUDA model (e.g. Kokkos views). LAMMPS layouts: owned atoms
// first, then ghosts.
struct ResidentArrays {
  const double* x = nullptr;  // [nall][3], rows contiguous
  const int* type = nullptr;  // [nall] 1-based atom types
  AtomIds tag;                // [nall] atom IDs
  int nlocal = 0;
  int nall = 0;
  // A full neighbor list: the neighbors of atom i are neighbors[i * row_stride + n * col_stride]
  // for n < num_neighbors[i], with flags above index_mask; centers lists the atoms that have one.
  const int* centers = nullptr;
  int num_centers = 0;
  const int* num_neighbors = nullptr;
  const int* neighbors = nullptr;
  int neighbor_rows = 0;
  int neighbor_cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
  int index_mask = ~0;
  double* f = nullptr;          // [nall][3]: forces are added here
  double* eatom = nullptr;      // [nall] per-atom energies are added here, or nullptr
  double* vatom = nullptr;      // [nall][6] per-atom virials are added here, or nullptr
  double* cvatom = nullptr;     // [nall][9] per-atom centroid virials are added here, or nullptr
  void* cuda_stream = nullptr;  // the engine's cudaStream_t: every kernel is queued on it
};

// One force evaluation that never leaves the model's device: device kernels turn the neighbor
// list into the edge graph, the model runs on it, and forces (and per-atom virials) are summed
// into node rows there, to be added to the engine's arrays. The same graph rules as EdgeGraph:
// edges within the cutoff between atoms of non-NULL types, edge_vec = x[src] - x[dst], ghosts
// folded onto the atoms they image or kept as nodes. Each step only the totals and two sizes
// reach the host (and the owner map's size when reneighbored, and node rows for a host reverse
// communication); work buffers come from LibTorch's caching allocator and are reused.
class ResidentStep {
 public:
  // type_to_z[t]: atomic number of atom type t, 0 for NULL types. Edges shorter than
  // min_distance stop a step with mlff::CloseAtoms naming the two atom IDs.
  ResidentStep(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
               double min_distance = 0.0);
  ~ResidentStep();

  // Builds the graph and runs the model. ghost_nodes: ghosts are graph nodes (several ranks);
  // otherwise they are folded onto owners, a map rebuilt when refresh_owners (reneighboring).
  // virial_width: per-node virial rows of 0, 6 (xx yy zz xy xz yz) or 9 components (also
  // yx zx zy, for centroid virials).
  // Throws mlff::Error on non-finite positions or model outputs, or a ghost without an owner,
  // and mlff::CloseAtoms on overlapping atoms.
  // With a profile the device is synchronized between stages, which are timed separately.
  StepTotals compute(const ResidentArrays& arrays, bool ghost_nodes, bool refresh_owners,
                     int virial_width, StepProfile* profile = nullptr);

  // Node rows through the host, for a reverse communication the engine does there.
  void download_rows(const ResidentArrays& arrays, std::vector<double>& force,
                     std::vector<double>& virial) const;
  void upload_rows(const ResidentArrays& arrays, const std::vector<double>& force,
                   const std::vector<double>& virial);

  // Adds node rows [0, rows) to arrays.f (and arrays.vatom, arrays.cvatom), and the energies of
  // owned atoms to arrays.eatom, where those are given.
  void add_to_engine(const ResidentArrays& arrays, int rows);

  std::int64_t num_edges() const;  // of the last graph

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlff
