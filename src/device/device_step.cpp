#include "device/device_step.h"

#include "device/device_step_impl.h"
#include "graph/ghost_fold.h"
#include "model/loaded_model.h"
#include "util/error.h"
#ifdef MLFF_DEVICE_CUDA_GRAPH
#include "device/device_cuda_graph.h"
#include "device/edge_kernels.h"
#else
namespace mlff {
// Built without a CUDA compiler (or without CUDA): no graphs, the pointer stays empty.
class DeviceCudaGraph {};
}  // namespace mlff
#endif

namespace mlff {

DeviceStep::Impl::Impl(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
                       double min_distance)
    : model(model),
      cutoff(cutoff),
      min_distance(min_distance),
      on(at::TensorOptions().device(model.device() == Device::CUDA ? at::kCUDA : at::kCPU)) {
  z_of_type =
      at::tensor(std::vector<std::int64_t>(type_to_z.begin(), type_to_z.end())).to(on.device());
}

DeviceStep::DeviceStep(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
                       double min_distance)
    : impl_(std::make_unique<Impl>(model, type_to_z, cutoff, min_distance)) {}

// The engine's stream may still read the last step's node rows (the force addition): their
// memory goes back to LibTorch's allocator only once that is done.
DeviceStep::~DeviceStep() {
#ifdef MLFF_CUDA
  if (impl_->on.device().is_cuda()) (void)cudaDeviceSynchronize();  // no throw in a destructor
#endif
}

std::int64_t DeviceStep::num_edges() const {
  return impl_->num_edges;
}

void DeviceStep::Impl::set_nodes(const DeviceArrays& a, bool ghosts_as_nodes, bool refresh_owners) {
  ghost_nodes = ghosts_as_nodes;
  num_nodes = ghost_nodes ? a.atoms.nall : a.atoms.nlocal;
  if (!ghost_nodes && (refresh_owners || !node_of.defined() || node_of.size(0) != a.atoms.nall))
    node_of = owned_image_of(id_tensor(a.tag, a.atoms.nall, on), a.atoms.nlocal);
}

NeighborPairs DeviceStep::Impl::pairs(const DeviceArrays& a, const at::Tensor& x,
                                      const at::Tensor& z_atom, bool within_cutoff) const {
  try {
    return list_pairs(a.neighbors, x, z_atom, cutoff, within_cutoff);
  } catch (const NonFinitePosition& e) {  // the list names atom indices; the user knows IDs
    throw NonFinitePosition(id_tensor(a.tag, a.atoms.nall, on)[e.atom].item<std::int64_t>());
  }
}

AtomTypes DeviceStep::Impl::atom_types(const DeviceArrays& a) const {
  AtomTypes t;
  t.z_atom =
      z_of_type.index_select(0, view(a.atoms.type, {a.atoms.nall}, at::kInt, on).to(at::kLong));
  t.z = t.z_atom.narrow(0, 0, num_nodes);
  t.energy_mask =
      ((at::arange(num_nodes, on.dtype(at::kLong)) < a.atoms.nlocal) & (t.z > 0)).to(at::kDouble);
  return t;
}

StepTotals DeviceStep::compute(const DeviceArrays& a, bool ghost_nodes, bool refresh_owners,
                               int virial_width, StepProfile* profile,
                               ExchangeTransport* exchange) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  StageClock clock(profile);
  const Lap lap = [&](const char* stage) {
    if (!profile) return;
    stream.synchronize();
    clock.lap(stage);
  };
  m.set_nodes(a, ghost_nodes, refresh_owners);
#ifdef MLFF_DEVICE_CUDA_GRAPH
  // Small graphs replay a captured CUDA graph. Exchanges call the engine between kernels, and
  // deterministic runs sort edges by their vectors: both run eagerly.
  if (m.model.device() == Device::CUDA && !exchange && !m.model.deterministic() &&
      m.model.loaded().graphed(m.num_nodes)) {
    if (auto totals = m.compute_graphed(a, refresh_owners, virial_width, profile, lap))
      return *totals;
  } else {
    m.graph.reset();
  }
#endif
  return m.compute_eager(a, virial_width, exchange, lap);
}

void DeviceStep::download_rows(const DeviceArrays& a, std::vector<double>& force,
                               std::vector<double>& virial) {
  const Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  auto copy = [](const at::Tensor& rows, std::vector<double>& out) {
    const at::Tensor host = rows.contiguous().cpu();
    out.assign(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  };
  copy(m.node_force, force);
  if (m.node_virial.defined()) copy(m.node_virial, virial);
}

void DeviceStep::upload_rows(const DeviceArrays& a, std::vector<double>& force,
                             std::vector<double>& virial) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  auto copy = [](const std::vector<double>& in, at::Tensor& rows) {
    rows.copy_(at::from_blob(const_cast<double*>(in.data()), rows.sizes(), at::kDouble));
  };
  copy(force, m.node_force);
  if (m.node_virial.defined()) copy(virial, m.node_virial);
}

void DeviceStep::add_to_engine(const DeviceArrays& a, int rows) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  if (rows > 0) {
#ifdef MLFF_DEVICE_CUDA_GRAPH
    // Small systems spend more time on LibTorch's addition on the host than on the GPU.
    if (m.node_force.is_cuda() && m.node_force.scalar_type() == at::kDouble &&
        m.node_force.is_contiguous() && rows <= m.node_force.size(0))
      edge_kernels::add_values(a.f, m.node_force.data_ptr<double>(), 3 * std::int64_t{rows},
                               static_cast<cudaStream_t>(a.cuda_stream));
    else
#endif
      view(a.f, {a.atoms.nall, 3}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_force.narrow(0, 0, rows));
    if (a.vatom && m.node_virial.defined())
      view(a.vatom, {a.atoms.nall, 6}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_virial.narrow(0, 0, rows).narrow(1, 0, 6));
    if (a.cvatom && m.node_virial.defined() && m.node_virial.size(1) == 9)
      view(a.cvatom, {a.atoms.nall, 9}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_virial.narrow(0, 0, rows));
  }
  if (a.eatom && a.atoms.nlocal > 0)
    view(a.eatom, {a.atoms.nall}, at::kDouble, m.on)
        .narrow(0, 0, a.atoms.nlocal)
        .add_(m.node_energy.narrow(0, 0, a.atoms.nlocal));
}

}  // namespace mlff
