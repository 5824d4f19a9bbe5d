#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/atom_ids.h"
#include "graph/engine_step.h"
#include "graph/force_scatter.h"
#include "model/model_runner.h"
#include "util/step_profile.h"

namespace mlff {

// An engine's arrays, used in place in the memory the model runs in: host memory for a CPU
// model, CUDA device memory for a CUDA model (e.g. Kokkos views). LAMMPS layouts: owned atoms
// first, then ghosts.
struct DeviceArrays {
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
// into node rows there, to be added to the engine's arrays. Each step only the totals and two sizes
// reach the host (and the owner map's size when reneighbored, and node rows for a host reverse
// communication); work buffers come from LibTorch's caching allocator and are reused. On a GPU,
// small graphs (LoadedModel::graphed) replay a captured CUDA graph instead (device_cuda_graph.h).
class DeviceStep : public EngineStep<DeviceArrays> {
 public:
  // type_to_z[t]: atomic number of atom type t, 0 for NULL types; edges shorter than
  // min_distance stop a step. With a profile the device is synchronized between stages.
  DeviceStep(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
             double min_distance = 0.0);
  ~DeviceStep() override;

  StepTotals compute(const DeviceArrays& arrays, bool ghost_nodes, bool refresh_owners,
                     int virial_width, StepProfile* profile = nullptr,
                     ExchangeTransport* exchange = nullptr) override;
  void add_to_engine(const DeviceArrays& arrays, int rows) override;
  std::int64_t num_edges() const override;

  // Rows through the host: a copy from the device and back.
  void download_rows(const DeviceArrays& arrays, std::vector<double>& force,
                     std::vector<double>& virial) override;
  void upload_rows(const DeviceArrays& arrays, std::vector<double>& force,
                   std::vector<double>& virial) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlff
