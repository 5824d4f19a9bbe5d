#include "resident_step.h"

#include <ATen/ATen.h>
#ifdef MLFF_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif
#ifdef MLFF_RESIDENT_GRAPH
#include "graph_kernels.h"
#include "resident_graph.h"
#endif

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "ghost_fold.h"
#include "loaded_model.h"
#include "mlff_error.h"
#include "node_sums.h"

namespace mlff {

namespace {

// Queues LibTorch's work on the engine's CUDA stream for the lifetime of the object, so that it
// is ordered after the engine's kernels that wrote the inputs and before those that read forces.
class EngineStream {
 public:
  EngineStream(const ResidentArrays& arrays, Device device) {
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

// The order of edges that the atoms alone fix, whatever order the engine stores atoms and
// neighbors in (Kokkos builds neighbor lists with atomics): by the ID of the destination, its
// position when ghosts are nodes (images of one atom), the ID of the source, then the edge vector.
// Stable sorts from the last key to the first.
at::Tensor canonical_edge_order(const ResidentArrays& a, const at::Tensor& x,
                                const at::Tensor& src_atom, const at::Tensor& dst_atom,
                                const at::Tensor& edge_vec, bool ghost_nodes,
                                const at::TensorOptions& on) {
  at::Tensor order = at::arange(src_atom.numel(), on.dtype(at::kLong));
  auto stable_by = [&](const at::Tensor& key) {
    const at::Tensor sorted = std::get<1>(key.index_select(0, order).sort(true, 0, false));
    order = order.index_select(0, sorted);
  };
  for (int k = 2; k >= 0; --k) stable_by(edge_vec.select(1, k));
  const at::Tensor tag = id_tensor(a.tag, a.nall, on);
  const at::Tensor dst_tag = tag.index_select(0, dst_atom);
  stable_by(tag.index_select(0, src_atom));
  if (ghost_nodes) {
    const at::Tensor x_dst = x.index_select(0, dst_atom);
    for (int k = 2; k >= 0; --k) stable_by(x_dst.select(1, k));
  }
  stable_by(dst_tag);
  return order;
}

// The neighbor list's pairs (center, neighbor) between atoms of non-NULL types, grouped by center
// in row order, with edge vectors x[neighbor] - x[center] and their squared lengths.
struct NeighborPairs {
  at::Tensor src_atom, dst_atom, edge_vec, length2, centers;
};

}  // namespace

#ifndef MLFF_RESIDENT_GRAPH
// Built without a CUDA compiler (or without CUDA): no graphs, the pointer stays empty.
class ResidentGraph {};
#endif

struct ResidentStep::Impl {
  Impl(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff, double min_distance)
      : model(model),
        cutoff(cutoff),
        min_distance(min_distance),
        on(at::TensorOptions().device(model.device() == Device::CUDA ? at::kCUDA : at::kCPU)) {
    z_of_type =
        at::tensor(std::vector<std::int64_t>(type_to_z.begin(), type_to_z.end())).to(on.device());
  }

  // Pairs within the cutoff only, or (for the graph) all of them. Throws on non-finite positions
  // of centers.
  NeighborPairs list_pairs(const ResidentArrays& a, const at::Tensor& x, const at::Tensor& z_atom,
                           bool within_cutoff) const;

  ModelRunner& model;
  double cutoff, min_distance;
  at::TensorOptions on;  // the model's device
  at::Tensor z_of_type;
  at::Tensor node_of;  // [nall] owned atom of each atom, when ghosts are folded
  // This step's results, all on the device; node energies are those that count.
  std::int64_t num_edges = 0;
  at::Tensor node_energy, node_force, node_virial;
  std::unique_ptr<ResidentGraph> graph;
  bool graph_has_pairs = false;  // of the last reneighboring, for graph_pairs_nall atoms
  std::int64_t graph_pairs_nall = 0;
  bool graph_ghost_nodes = false;
};

NeighborPairs ResidentStep::Impl::list_pairs(const ResidentArrays& a, const at::Tensor& x,
                                             const at::Tensor& z_atom, bool within_cutoff) const {
  const at::TensorOptions as_long = on.dtype(at::kLong);
  NeighborPairs p;
  p.centers = view(a.centers, {a.num_centers}, at::kInt, on).to(at::kLong);
  const at::Tensor x_center = x.index_select(0, p.centers);
  // Centers of NULL types get no edges.
  const at::Tensor counts = view(a.num_neighbors, {a.neighbor_rows}, at::kInt, on)
                                .index_select(0, p.centers)
                                .to(at::kLong) *
                            (z_atom.index_select(0, p.centers) > 0);

  // The widest row and the non-finite positions reach the host together.
  const at::Tensor bad = at::isfinite(x_center).logical_not().any(1);
  const at::Tensor sizes =
      a.num_centers > 0 ? at::stack({counts.max(), bad.sum()}).cpu() : at::zeros({2}, at::kLong);
  const std::int64_t width = sizes[0].item<std::int64_t>();
  if (sizes[1].item<std::int64_t>() > 0) {
    const std::int64_t first = p.centers[bad.nonzero()[0][0]].item<std::int64_t>();
    throw Error("non-finite position of atom index " + std::to_string(first));
  }
  if (width == 0) {
    p.src_atom = p.dst_atom = at::empty({0}, as_long);
    p.edge_vec = at::empty({0, 3}, on.dtype(at::kDouble));
    p.length2 = at::empty({0}, on.dtype(at::kDouble));
    return p;
  }
  // Candidates [centers, width]: padding slots (and pairs beyond the cutoff) are masked out, and
  // the kept ones, in row order, are grouped by center as in the neighbor list.
  const at::Tensor rows =
      at::from_blob(const_cast<int*>(a.neighbors), {a.neighbor_rows, a.neighbor_cols},
                    {a.row_stride, a.col_stride}, on.dtype(at::kInt))
          .narrow(1, 0, width)
          .index_select(0, p.centers);
  const at::Tensor slot = at::arange(width, as_long).unsqueeze(0) < counts.unsqueeze(1);
  const at::Tensor j = at::bitwise_and(rows, a.index_mask)
                           .to(at::kLong)
                           .masked_fill_(slot.logical_not(), 0)
                           .flatten();
  const at::Tensor d =
      (x.index_select(0, j).view({a.num_centers, width, 3}) - x_center.unsqueeze(1)).view({-1, 3});
  const at::Tensor d2 = d.square().sum(1);
  at::Tensor keep = slot.flatten() & (z_atom.index_select(0, j) > 0);
  if (within_cutoff) keep &= d2 <= cutoff * cutoff;
  const at::Tensor kept = keep.nonzero().squeeze(1);
  p.src_atom = j.index_select(0, kept);
  p.dst_atom = p.centers.index_select(0, at::div(kept, width, "floor"));
  p.length2 = d2.index_select(0, kept);
  p.edge_vec = d.index_select(0, kept);
  return p;
}

ResidentStep::ResidentStep(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
                           double min_distance)
    : impl_(std::make_unique<Impl>(model, type_to_z, cutoff, min_distance)) {}

// The engine's stream may still read the last step's node rows (the force addition): their
// memory goes back to LibTorch's allocator only once that is done.
ResidentStep::~ResidentStep() {
#ifdef MLFF_CUDA
  if (impl_->on.device().is_cuda()) (void)cudaDeviceSynchronize();  // no throw in a destructor
#endif
}

std::int64_t ResidentStep::num_edges() const {
  return impl_->num_edges;
}

StepTotals ResidentStep::compute(const ResidentArrays& a, bool ghost_nodes, bool refresh_owners,
                                 int virial_width, StepProfile* profile, GhostExchange* exchange) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  StageClock clock(profile);
  auto lap = [&](const char* stage) {
    if (!profile) return;
    stream.synchronize();
    clock.lap(stage);
  };
  const at::TensorOptions& on = m.on;
  const at::TensorOptions as_long = on.dtype(at::kLong);
  const std::int64_t num_nodes = ghost_nodes ? a.nall : a.nlocal;
  if (!ghost_nodes && (refresh_owners || !m.node_of.defined() || m.node_of.size(0) != a.nall))
    m.node_of = owned_image_of(id_tensor(a.tag, a.nall, on), a.nlocal);
  auto node_index = [&](const at::Tensor& atom) {
    return ghost_nodes ? atom : m.node_of.index_select(0, atom);
  };

  // As a tensor only where LibTorch reads them: a replayed graph copies them in itself.
  auto positions = [&] { return view(a.x, {a.nall, 3}, at::kDouble, on); };
  // Atomic numbers of all atoms and the mask of the node energies that count; a replayed graph
  // reads them only when it takes new pairs.
  struct AtomTypes {
    at::Tensor z_atom, z, energy_mask;
  };
  auto atom_types = [&] {
    AtomTypes t;
    t.z_atom = m.z_of_type.index_select(0, view(a.type, {a.nall}, at::kInt, on).to(at::kLong));
    t.z = t.z_atom.narrow(0, 0, num_nodes);
    t.energy_mask = ((at::arange(num_nodes, as_long) < a.nlocal) & (t.z > 0)).to(at::kDouble);
    return t;
  };

#ifdef MLFF_RESIDENT_GRAPH
  // Small graphs replay a captured CUDA graph; the pairs it chooses edges from change only at
  // reneighboring. Exchanges call the engine between kernels, and deterministic runs sort edges
  // by their vectors: both run eagerly.
  if (m.model.device() == Device::CUDA && !exchange && !m.model.deterministic() &&
      m.model.loaded().graphed(num_nodes)) {
    if (!m.graph) {
      m.graph = std::make_unique<ResidentGraph>(m.model.loaded(), m.cutoff);
      m.graph_has_pairs = false;
    }
    if (refresh_owners || !m.graph_has_pairs || m.graph_pairs_nall != a.nall ||
        m.graph_ghost_nodes != ghost_nodes) {
      const AtomTypes types = atom_types();
      const NeighborPairs p = m.list_pairs(a, positions(), types.z_atom, false);
      CandidatePairs pairs;
      pairs.src_atom = p.src_atom;
      pairs.dst_atom = p.dst_atom;
      pairs.src_node = node_index(p.src_atom);
      pairs.dst_node = node_index(p.dst_atom);
      pairs.z = types.z;
      pairs.energy_mask = types.energy_mask;
      pairs.centers = p.centers;
      pairs.nall = a.nall;
      pairs.edges = (p.length2 <= m.cutoff * m.cutoff).sum().item<std::int64_t>();
      m.graph->set_pairs(pairs);
      m.graph_has_pairs = true;
      m.graph_pairs_nall = a.nall;
      m.graph_ghost_nodes = ghost_nodes;
    }
    const GraphTotals t = m.graph->run(a.x, static_cast<cudaStream_t>(a.cuda_stream), profile);
    lap("device step (CUDA graph)");
    // Non-finite positions and overlapping atoms: the eager step below names the atoms.
    if (t.centers_finite && t.shortest2 >= m.min_distance * m.min_distance) {
      const NodeSums rows = m.graph->sums(virial_width);
      m.node_energy = rows.energy;
      m.node_force = rows.force;
      m.node_virial = rows.virial;
      m.num_edges = t.edges;
      StepTotals out;
      out.energy = t.energy;
      std::copy(t.virial, t.virial + 6, out.virial.begin());
      if (!ForceScatter::finite(out.energy, out.virial))
        throw Error("the model returned non-finite energies or forces");
      return out;
    }
  } else {
    m.graph.reset();
  }
#endif

  const AtomTypes types = atom_types();
  const at::Tensor x = positions();
  NeighborPairs p = m.list_pairs(a, x, types.z_atom, true);
  if (m.model.deterministic() && p.src_atom.numel() > 0) {
    const at::Tensor order =
        canonical_edge_order(a, x, p.src_atom, p.dst_atom, p.edge_vec, ghost_nodes, on);
    p.src_atom = p.src_atom.index_select(0, order);
    p.dst_atom = p.dst_atom.index_select(0, order);
    p.length2 = p.length2.index_select(0, order);
    p.edge_vec = p.edge_vec.index_select(0, order);
  }
  const at::Tensor src = node_index(p.src_atom), dst = node_index(p.dst_atom);
  m.num_edges = src.numel();
  lap("graph build (device)");

  const NodeSums sums = sum_onto_nodes(m.model.loaded(), types.z, src, dst, p.edge_vec,
                                       types.energy_mask, virial_width, exchange);
  m.node_energy = sums.energy;
  m.node_force = sums.force;
  m.node_virial = sums.virial;
  lap("model and sums");
  // The shortest edge comes back with the totals: overlapping atoms cost no extra wait.
  const at::Tensor shortest2 = p.length2.numel() > 0
                                   ? p.length2.min().view({1})
                                   : at::full({1}, m.cutoff * m.cutoff, p.length2.options());
  // Deterministic runs sum energies by atom ID: Kokkos may store owned atoms in another order.
  const at::Tensor energy_total =
      m.model.deterministic() && a.nlocal > 0
          ? m.node_energy.narrow(0, 0, a.nlocal)
                .index_select(0, at::argsort(id_tensor(a.tag, a.nlocal, on), true, 0, false))
                .sum()
          : m.node_energy.sum();
  const at::Tensor totals =
      at::cat({energy_total.view({1}), sums.virial_sum.view({9}), shortest2}).cpu().contiguous();
  lap("totals");
  const double* total = totals.data_ptr<double>();
  if (total[10] < m.min_distance * m.min_distance) {
    const std::int64_t e = p.length2.argmin().item<std::int64_t>();
    const at::Tensor tag = id_tensor(a.tag, a.nall, on);
    // Edges run between atoms (ghost images included) before folding: name their IDs.
    const at::Tensor ids = tag.index_select(0, at::stack({p.src_atom[e], p.dst_atom[e]})).cpu();
    throw CloseAtoms(ids[0].item<std::int64_t>(), ids[1].item<std::int64_t>(), std::sqrt(total[10]),
                     m.min_distance);
  }
  StepTotals out;
  out.energy = total[0];
  virial_from_sum(total + 1, out.virial.data());
  if (!ForceScatter::finite(out.energy, out.virial))
    throw Error("the model returned non-finite energies or forces");
  return out;
}

void ResidentStep::download_rows(const ResidentArrays& a, std::vector<double>& force,
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

void ResidentStep::upload_rows(const ResidentArrays& a, std::vector<double>& force,
                               std::vector<double>& virial) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  auto copy = [](const std::vector<double>& in, at::Tensor& rows) {
    rows.copy_(at::from_blob(const_cast<double*>(in.data()), rows.sizes(), at::kDouble));
  };
  copy(force, m.node_force);
  if (m.node_virial.defined()) copy(virial, m.node_virial);
}

void ResidentStep::add_to_engine(const ResidentArrays& a, int rows) {
  Impl& m = *impl_;
  EngineStream stream(a, m.model.device());
  if (rows > 0) {
#ifdef MLFF_RESIDENT_GRAPH
    // Small systems spend more time on LibTorch's addition on the host than on the GPU.
    if (m.node_force.is_cuda() && m.node_force.scalar_type() == at::kDouble &&
        m.node_force.is_contiguous() && rows <= m.node_force.size(0))
      graph_kernels::add_values(a.f, m.node_force.data_ptr<double>(), 3 * std::int64_t{rows},
                                static_cast<cudaStream_t>(a.cuda_stream));
    else
#endif
      view(a.f, {a.nall, 3}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_force.narrow(0, 0, rows));
    if (a.vatom && m.node_virial.defined())
      view(a.vatom, {a.nall, 6}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_virial.narrow(0, 0, rows).narrow(1, 0, 6));
    if (a.cvatom && m.node_virial.defined() && m.node_virial.size(1) == 9)
      view(a.cvatom, {a.nall, 9}, at::kDouble, m.on)
          .narrow(0, 0, rows)
          .add_(m.node_virial.narrow(0, 0, rows));
  }
  if (a.eatom && a.nlocal > 0)
    view(a.eatom, {a.nall}, at::kDouble, m.on)
        .narrow(0, 0, a.nlocal)
        .add_(m.node_energy.narrow(0, 0, a.nlocal));
}

}  // namespace mlff
