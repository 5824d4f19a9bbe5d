#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/atom_ids.h"
#include "graph/edge_graph.h"
#include "graph/engine_step.h"
#include "graph/force_scatter.h"
#include "model/model_runner.h"
#include "util/step_profile.h"

namespace mlff {

// A full neighbor list as one padded table (Kokkos's layout): the neighbors of atom i are
// table[i * row_stride + n * col_stride] for n < num_neighbors[i], with flags above index_mask;
// centers lists the atoms that have one.
struct NeighborTable {
  int num_centers = 0;
  const int* centers = nullptr;
  const int* num_neighbors = nullptr;  // [rows]
  const int* table = nullptr;          // [rows][cols]
  int rows = 0;
  int cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
  int index_mask = ~0;

  // The table of a 2-D view (data(), extent(d), stride(d): a Kokkos view, say).
  template <class View2D>
  void set_table(const View2D& view, int mask) {
    table = view.data();
    rows = static_cast<int>(view.extent(0));
    cols = static_cast<int>(view.extent(1));
    row_stride = static_cast<std::int64_t>(view.stride(0));
    col_stride = static_cast<std::int64_t>(view.stride(1));
    index_mask = mask;
  }
};

// An engine's arrays, used in place in the memory the model runs in: host memory for a CPU
// model, CUDA device memory for a CUDA model (e.g. Kokkos views). LAMMPS layouts: owned atoms
// first, then ghosts.
struct DeviceArrays {
  AtomArrays atoms;  // positions (rows contiguous) and types
  AtomIds tag;       // [nall] atom IDs
  NeighborTable neighbors;
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
