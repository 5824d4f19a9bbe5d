#include <algorithm>

#include "device/device_cuda_graph.h"
#include "device/device_step_impl.h"
#include "model/loaded_model.h"
#include "util/error.h"

namespace mlff {

// The pairs the graph chooses edges from change only at reneighboring.
std::optional<StepTotals> DeviceStep::Impl::compute_graphed(const DeviceArrays& a,
                                                            bool refresh_owners, int virial_width,
                                                            StepProfile* profile, const Lap& lap) {
  if (!graph) {
    graph = std::make_unique<DeviceCudaGraph>(model.loaded(), cutoff);
    graph_has_pairs = false;
  }
  if (refresh_owners || !graph_has_pairs || graph_pairs_nall != a.atoms.nall ||
      graph_ghost_nodes != ghost_nodes) {
    const AtomTypes types = atom_types(a);
    const NeighborPairs p = pairs(a, positions(a), types.z_atom, false);
    CandidatePairs pairs;
    pairs.src_atom = p.src_atom;
    pairs.dst_atom = p.dst_atom;
    pairs.src_node = node_index(p.src_atom);
    pairs.dst_node = node_index(p.dst_atom);
    pairs.z = types.z;
    pairs.energy_mask = types.energy_mask;
    pairs.centers = p.centers;
    pairs.nall = a.atoms.nall;
    pairs.edges = (p.length2 <= cutoff * cutoff).sum().item<std::int64_t>();
    graph->set_pairs(pairs);
    graph_has_pairs = true;
    graph_pairs_nall = a.atoms.nall;
    graph_ghost_nodes = ghost_nodes;
  }
  const GraphTotals t = graph->run(a.atoms.x, static_cast<cudaStream_t>(a.cuda_stream), profile);
  lap("device step (CUDA graph)");
  // Non-finite positions and overlapping atoms: the eager step below names the atoms.
  if (t.centers_finite && t.shortest2 >= min_distance * min_distance) {
    const ModelSums rows = graph->sums(virial_width);
    node_energy = rows.energy;
    node_force = rows.force;
    node_virial = rows.virial;
    num_edges = t.edges;
    StepTotals out;
    out.energy = t.energy;
    std::copy(t.virial, t.virial + 6, out.virial.begin());
    if (!ForceScatter::finite(out.energy, out.virial))
      throw Error("the model returned non-finite energies or forces");
    return out;
  }
  return std::nullopt;
}

}  // namespace mlff
