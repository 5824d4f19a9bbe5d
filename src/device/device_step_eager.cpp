#include <cmath>
#include <string>

#include "device/device_step_impl.h"
#include "device/model_launch.h"
#include "graph/ghost_fold.h"
#include "model/loaded_model.h"
#include "util/error.h"

namespace mlff {

namespace {

// The order of edges that the atoms alone fix, whatever order the engine stores atoms and
// neighbors in (Kokkos builds neighbor lists with atomics): by the ID of the destination, its
// position when ghosts are nodes (images of one atom), the ID of the source, then the edge vector.
// Stable sorts from the last key to the first.
at::Tensor canonical_edge_order(const DeviceArrays& a, const at::Tensor& x,
                                const at::Tensor& src_atom, const at::Tensor& dst_atom,
                                const at::Tensor& edge_vec, bool ghost_nodes,
                                const at::TensorOptions& on) {
  at::Tensor order = at::arange(src_atom.numel(), on.dtype(at::kLong));
  auto stable_by = [&](const at::Tensor& key) {
    const at::Tensor sorted = std::get<1>(key.index_select(0, order).sort(true, 0, false));
    order = order.index_select(0, sorted);
  };
  for (int k = 2; k >= 0; --k) stable_by(edge_vec.select(1, k));
  const at::Tensor tag = id_tensor(a.tag, a.atoms.nall, on);
  const at::Tensor dst_tag = tag.index_select(0, dst_atom);
  stable_by(tag.index_select(0, src_atom));
  if (ghost_nodes) {
    const at::Tensor x_dst = x.index_select(0, dst_atom);
    for (int k = 2; k >= 0; --k) stable_by(x_dst.select(1, k));
  }
  stable_by(dst_tag);
  return order;
}

}  // namespace

StepTotals DeviceStep::Impl::compute_eager(const DeviceArrays& a, int virial_width,
                                           ExchangeTransport* exchange, const Lap& lap) {
  const AtomTypes types = atom_types(a);
  const at::Tensor x = positions(a);
  NeighborPairs p = pairs(a, x, types.z_atom, true);
  if (model.deterministic() && p.src_atom.numel() > 0) {
    const at::Tensor order =
        canonical_edge_order(a, x, p.src_atom, p.dst_atom, p.edge_vec, ghost_nodes, on);
    p.src_atom = p.src_atom.index_select(0, order);
    p.dst_atom = p.dst_atom.index_select(0, order);
    p.length2 = p.length2.index_select(0, order);
    p.edge_vec = p.edge_vec.index_select(0, order);
  }
  const at::Tensor src = node_index(p.src_atom), dst = node_index(p.dst_atom);
  num_edges = src.numel();
  lap("graph build (device)");

  const ModelSums sums = launch_model(model.loaded(), types.z, src, dst, p.edge_vec,
                                      types.energy_mask, virial_width, exchange);
  node_energy = sums.energy;
  node_force = sums.force;
  node_virial = sums.virial;
  lap("model and sums");
  // The shortest edge comes back with the totals: overlapping atoms cost no extra wait.
  const at::Tensor shortest2 = p.length2.numel() > 0
                                   ? p.length2.min().view({1})
                                   : at::full({1}, cutoff * cutoff, p.length2.options());
  // Deterministic runs sum energies by atom ID: Kokkos may store owned atoms in another order.
  const at::Tensor energy_total =
      model.deterministic() && a.atoms.nlocal > 0
          ? node_energy.narrow(0, 0, a.atoms.nlocal)
                .index_select(0, at::argsort(id_tensor(a.tag, a.atoms.nlocal, on), true, 0, false))
                .sum()
          : node_energy.sum();
  const at::Tensor totals =
      at::cat({energy_total.view({1}), sums.virial_sum.view({9}), shortest2}).cpu().contiguous();
  lap("totals");
  const double* total = totals.data_ptr<double>();
  if (total[10] < min_distance * min_distance) {
    const std::int64_t e = p.length2.argmin().item<std::int64_t>();
    const at::Tensor tag = id_tensor(a.tag, a.atoms.nall, on);
    // Edges run between atoms (ghost images included) before folding: name their IDs.
    const at::Tensor ids = tag.index_select(0, at::stack({p.src_atom[e], p.dst_atom[e]})).cpu();
    throw CloseAtoms(ids[0].item<std::int64_t>(), ids[1].item<std::int64_t>(), std::sqrt(total[10]),
                     min_distance);
  }
  StepTotals out;
  out.energy = total[0];
  virial_from_sum(total + 1, out.virial.data());
  if (!ForceScatter::finite(out.energy, out.virial))
    throw Error("the model returned non-finite energies or forces");
  return out;
}

}  // namespace mlff
