#include "staged/staged_step.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "graph/ghost_fold.h"
#include "util/buffer.h"
#include "util/error.h"

namespace mlff {

StagedStep::StagedStep(ModelRunner& model, std::vector<int> type_to_z, double cutoff,
                       double min_distance)
    : model_(model),
      type_to_z_(std::move(type_to_z)),
      cutoff_(cutoff),
      min_distance_(min_distance) {}

void StagedStep::fold_ghosts_onto_owners(const HostArrays& a) {
  const at::Tensor owner =
      owned_image_of(id_tensor(a.tag, a.atoms.nall, at::TensorOptions()), a.atoms.nlocal)
          .to(at::kInt);
  node_of_.assign(owner.data_ptr<int>(), owner.data_ptr<int>() + owner.numel());
}

StepTotals StagedStep::compute(const HostArrays& a, bool ghost_nodes, bool refresh_owners,
                               int virial_width, StepProfile* profile,
                               ExchangeTransport* exchange) {
  const int num_nodes = ghost_nodes ? a.atoms.nall : a.atoms.nlocal;
  StageClock clock(profile);
  if (!ghost_nodes && (refresh_owners || node_of_.size() != static_cast<std::size_t>(a.atoms.nall)))
    fold_ghosts_onto_owners(a);
  try {
    graph_.build(a.atoms, a.neighbors, type_to_z_, ghost_nodes ? nullptr : node_of_.data(),
                 num_nodes, cutoff_, min_distance_);
  } catch (const CloseAtoms& e) {  // the graph names atom indices; the user knows IDs
    throw CloseAtoms(a.tag[e.first], a.tag[e.second], e.distance, e.min_distance);
  } catch (const NonFinitePosition& e) {
    throw NonFinitePosition(a.tag[e.atom]);
  }
  if (model_.deterministic()) {
    resize_buffer(node_tag_, num_nodes);
    for (int k = 0; k < num_nodes; ++k) node_tag_[k] = a.tag[k];
    graph_.order_canonically(node_tag_.data(), a.atoms.x);
  }
  clock.lap("graph build");
  model_.run(graph_, output_, profile, exchange);

  StageClock scatter_clock(profile);
  StepTotals totals;
  zero_buffer(node_force_, 3 * static_cast<std::size_t>(num_nodes));
  totals.virial = scatter_.forces(graph_, output_.edge_grad, node_force_.data());
  totals.energy = ForceScatter::energy(graph_, output_.node_energy);
  if (!ForceScatter::finite(totals.energy, totals.virial))
    throw Error("the model returned non-finite energies or forces");
  virial_width_ = virial_width;
  zero_buffer(node_virial_, static_cast<std::size_t>(virial_width) * num_nodes);
  if (virial_width > 0)
    scatter_.per_node_virial(graph_, output_.edge_grad, node_virial_.data(), virial_width);
  scatter_clock.lap("scatter");
  return totals;
}

// The rows are already in host memory: they change hands, uncopied.
void StagedStep::download_rows(const HostArrays&, std::vector<double>& force,
                               std::vector<double>& virial) {
  force.swap(node_force_);
  virial.swap(node_virial_);
}

void StagedStep::upload_rows(const HostArrays&, std::vector<double>& force,
                             std::vector<double>& virial) {
  node_force_.swap(force);
  node_virial_.swap(virial);
}

void StagedStep::add_to_engine(const HostArrays& a, int rows) {
  for (std::int64_t k = 0; k < 3 * static_cast<std::int64_t>(rows); ++k) a.f[k] += node_force_[k];
  const int w = virial_width_;
  if (a.vatom && w > 0)
    for (int i = 0; i < rows; ++i)
      for (int k = 0; k < 6; ++k) a.vatom[6 * i + k] += node_virial_[w * i + k];
  if (a.cvatom && w == 9)
    for (std::int64_t k = 0; k < 9 * static_cast<std::int64_t>(rows); ++k)
      a.cvatom[k] += node_virial_[k];
  if (a.eatom)
    for (int i = 0; i < a.atoms.nlocal; ++i)
      a.eatom[i] += graph_.energy_mask[i] * output_.node_energy[i];
}

}  // namespace mlff
