#pragma once

// What the device step's paths share (device_step.cpp, device_step_eager.cpp,
// device_step_graphed.cpp). Internal to the core: it includes LibTorch.

#include <ATen/ATen.h>
#ifdef MLFF_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "device/device_step.h"
#include "device/pair_listing.h"

namespace mlff {

// Queues LibTorch's work on the engine's CUDA stream for the lifetime of the object, so that it
// is ordered after the engine's kernels that wrote the inputs and before those that read forces.
class EngineStream {
 public:
  EngineStream(const DeviceArrays& arrays, Device device) {
#ifdef MLFF_CUDA
    if (device == Device::CUDA)
      guard_.emplace(c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(arrays.cuda_stream),
                                                      c10::cuda::current_device()));
#else
    (void)arrays;
    (void)device;
#endif
  }

  // Waits for the queued work, for stage timings.
  void synchronize() const {
#ifdef MLFF_CUDA
    if (guard_) guard_->current_stream().synchronize();
#endif
  }

 private:
#ifdef MLFF_CUDA
  std::optional<c10::cuda::CUDAStreamGuard> guard_;
#endif
};

// An engine array as a tensor, without copying. Empty arrays may have no storage at all (a
// subdomain without atoms), which from_blob need not accept on CUDA.
template <typename T>
at::Tensor view(const T* data, at::IntArrayRef sizes, at::ScalarType dtype,
                const at::TensorOptions& on) {
  if (c10::multiply_integers(sizes) == 0) return at::empty(sizes, on.dtype(dtype));
  return at::from_blob(const_cast<T*>(data), sizes, on.dtype(dtype));
}

// Atomic numbers of all atoms and the mask of the node energies that count.
struct AtomTypes {
  at::Tensor z_atom, z, energy_mask;
};

// Ends a profiled stage (after waiting for the device).
using Lap = std::function<void(const char* stage)>;

class DeviceCudaGraph;

struct DeviceStep::Impl {
  Impl(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff, double min_distance);

  // The neighbor list's pairs within the cutoff, or (for the CUDA graph) all of them; a
  // non-finite position is named by the atom's ID.
  NeighborPairs pairs(const DeviceArrays& a, const at::Tensor& x, const at::Tensor& z_atom,
                      bool within_cutoff) const;
  // The step's atoms as the model sees them: ghosts as nodes or folded onto owners.
  void set_nodes(const DeviceArrays& a, bool ghost_nodes, bool refresh_owners);
  at::Tensor node_index(const at::Tensor& atom) const {
    return ghost_nodes ? atom : node_of.index_select(0, atom);
  }
  AtomTypes atom_types(const DeviceArrays& a) const;
  at::Tensor positions(const DeviceArrays& a) const {
    return view(a.atoms.x, {a.atoms.nall, 3}, at::kDouble, on);
  }

  // The two paths of compute, which leave the same node rows: the captured CUDA graph (small
  // graphs on a GPU; nothing where the eager path must name atoms) and LibTorch's operations.
  std::optional<StepTotals> compute_graphed(const DeviceArrays& a, bool refresh_owners,
                                            int virial_width, StepProfile* profile, const Lap& lap);
  StepTotals compute_eager(const DeviceArrays& a, int virial_width, ExchangeTransport* exchange,
                           const Lap& lap);

  ModelRunner& model;
  double cutoff, min_distance;
  at::TensorOptions on;  // the model's device
  at::Tensor z_of_type;
  at::Tensor node_of;  // [nall] owned atom of each atom, when ghosts are folded
  bool ghost_nodes = false;
  std::int64_t num_nodes = 0;
  // This step's results, all on the device; node energies are those that count.
  std::int64_t num_edges = 0;
  at::Tensor node_energy, node_force, node_virial;
  std::unique_ptr<DeviceCudaGraph> graph;
  bool graph_has_pairs = false;  // of the last reneighboring, for graph_pairs_nall atoms
  std::int64_t graph_pairs_nall = 0;
  bool graph_ghost_nodes = false;
};

}  // namespace mlff
