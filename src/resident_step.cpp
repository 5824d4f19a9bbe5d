#include "resident_step.h"

#include <ATen/ATen.h>
#ifdef MLFF_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "ghost_fold.h"
#include "loaded_model.h"
#include "mlff_error.h"

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

}  // namespace

struct ResidentStep::Impl {
  Impl(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff, double min_distance)
      : model(model),
        cutoff(cutoff),
        min_distance(min_distance),
        on(at::TensorOptions().device(model.device() == Device::CUDA ? at::kCUDA : at::kCPU)) {
    z_of_type =
        at::tensor(std::vector<std::int64_t>(type_to_z.begin(), type_to_z.end())).to(on.device());
    // Edge virial components xx yy zz xy xz yz, then yx zx zy, as products r[a] * g[b].
    virial_a = at::tensor(std::vector<std::int64_t>{0, 1, 2, 0, 0, 1, 1, 2, 2}).to(on.device());
    virial_b = at::tensor(std::vector<std::int64_t>{0, 1, 2, 1, 2, 2, 0, 0, 1}).to(on.device());
  }

  ModelRunner& model;
  double cutoff, min_distance;
  at::TensorOptions on;  // the model's device
  at::Tensor z_of_type, virial_a, virial_b;
  at::Tensor node_of;  // [nall] owned atom of each atom, when ghosts are folded
  // This step's graph and results, all on the device; node energies are those that count.
  at::Tensor src, dst, node_energy, node_force, node_virial;
};

ResidentStep::ResidentStep(ModelRunner& model, const std::vector<int>& type_to_z, double cutoff,
                           double min_distance)
    : impl_(std::make_unique<Impl>(model, type_to_z, cutoff, min_distance)) {}

ResidentStep::~ResidentStep() = default;

std::int64_t ResidentStep::num_edges() const {
  return impl_->src.defined() ? impl_->src.numel() : 0;
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

  const at::Tensor x = view(a.x, {a.nall, 3}, at::kDouble, on);
  const at::Tensor z_atom =
      m.z_of_type.index_select(0, view(a.type, {a.nall}, at::kInt, on).to(at::kLong));
  const at::Tensor centers = view(a.centers, {a.num_centers}, at::kInt, on).to(at::kLong);
  const at::Tensor x_center = x.index_select(0, centers);
  // Centers of NULL types get no edges.
  const at::Tensor counts = view(a.num_neighbors, {a.neighbor_rows}, at::kInt, on)
                                .index_select(0, centers)
                                .to(at::kLong) *
                            (z_atom.index_select(0, centers) > 0);

  // The widest row and the non-finite positions reach the host together.
  const at::Tensor bad = at::isfinite(x_center).logical_not().any(1);
  const at::Tensor sizes =
      a.num_centers > 0 ? at::stack({counts.max(), bad.sum()}).cpu() : at::zeros({2}, at::kLong);
  const std::int64_t width = sizes[0].item<std::int64_t>();
  if (sizes[1].item<std::int64_t>() > 0) {
    const std::int64_t first = centers[bad.nonzero()[0][0]].item<std::int64_t>();
    throw Error("non-finite position of atom index " + std::to_string(first));
  }

  // Candidates [centers, width]: padding slots and pairs beyond the cutoff are masked out, and
  // the kept ones, in row order, are the edges grouped by center as in the neighbor list.
  // Edges as atom pairs (before ghosts are folded onto owners) and their squared lengths.
  at::Tensor edge_vec, src_atom, dst_atom, length2;
  if (width > 0) {
    const at::Tensor rows =
        at::from_blob(const_cast<int*>(a.neighbors), {a.neighbor_rows, a.neighbor_cols},
                      {a.row_stride, a.col_stride}, on.dtype(at::kInt))
            .narrow(1, 0, width)
            .index_select(0, centers);
    const at::Tensor slot = at::arange(width, as_long).unsqueeze(0) < counts.unsqueeze(1);
    const at::Tensor j = at::bitwise_and(rows, a.index_mask)
                             .to(at::kLong)
                             .masked_fill_(slot.logical_not(), 0)
                             .flatten();
    const at::Tensor d =
        (x.index_select(0, j).view({a.num_centers, width, 3}) - x_center.unsqueeze(1))
            .view({-1, 3});
    const at::Tensor d2 = d.square().sum(1);
    const at::Tensor keep =
        slot.flatten() & (z_atom.index_select(0, j) > 0) & (d2 <= m.cutoff * m.cutoff);
    const at::Tensor kept = keep.nonzero().squeeze(1);
    src_atom = j.index_select(0, kept);
    dst_atom = centers.index_select(0, at::div(kept, width, "floor"));
    length2 = d2.index_select(0, kept);
    edge_vec = d.index_select(0, kept);
    if (m.model.deterministic()) {
      const at::Tensor order =
          canonical_edge_order(a, x, src_atom, dst_atom, edge_vec, ghost_nodes, on);
      src_atom = src_atom.index_select(0, order);
      dst_atom = dst_atom.index_select(0, order);
      length2 = length2.index_select(0, order);
      edge_vec = edge_vec.index_select(0, order);
    }
    m.src = ghost_nodes ? src_atom : m.node_of.index_select(0, src_atom);
    m.dst = ghost_nodes ? dst_atom : m.node_of.index_select(0, dst_atom);
  } else {
    m.src = m.dst = src_atom = dst_atom = at::empty({0}, as_long);
    edge_vec = at::empty({0, 3}, on.dtype(at::kDouble));
    length2 = at::empty({0}, on.dtype(at::kDouble));
  }

  lap("graph build (device)");
  const at::Tensor z = z_atom.narrow(0, 0, num_nodes);
  const at::Tensor energy_mask =
      ((at::arange(num_nodes, as_long) < a.nlocal) & (z > 0)).to(at::kDouble);
  const at::ScalarType dtype = m.model.loaded().input_dtype();
  const std::vector<at::Tensor> result =
      num_nodes > 0 || exchange
          ? m.model.loaded().forward({z, m.src, m.dst, edge_vec.to(dtype), energy_mask.to(dtype)},
                                     exchange)
          : std::vector<at::Tensor>{at::zeros({0}, on), at::zeros({0, 3}, on)};
  m.node_energy = result[0].reshape({num_nodes}).to(at::kDouble) * energy_mask;
  const at::Tensor grad = result[1].reshape({-1, 3}).to(at::kDouble);
  lap("model");

  // edge_vec = x[src] - x[dst]: a gradient g pushes src by -g and dst by +g, and adds
  // -edge_vec (x) g to the virial.
  m.node_force = at::zeros({num_nodes, 3}, on.dtype(at::kDouble))
                     .index_add_(0, m.src, grad.neg())
                     .index_add_(0, m.dst, grad);
  const int components = std::max(virial_width, 6);
  const at::Tensor w = (edge_vec.index_select(1, m.virial_a.narrow(0, 0, components)) *
                        grad.index_select(1, m.virial_b.narrow(0, 0, components)))
                           .neg_();
  if (virial_width > 0) {
    const at::Tensor half = 0.5 * w.narrow(1, 0, virial_width);
    m.node_virial = at::zeros({num_nodes, virial_width}, on.dtype(at::kDouble))
                        .index_add_(0, m.src, half)
                        .index_add_(0, m.dst, half);
  } else {
    m.node_virial = at::Tensor();
  }
  // The shortest edge comes back with the totals: overlapping atoms cost no extra wait.
  const at::Tensor shortest2 = length2.numel() > 0
                                   ? length2.min().view({1})
                                   : at::full({1}, m.cutoff * m.cutoff, length2.options());
  // Deterministic runs sum energies by atom ID: Kokkos may store owned atoms in another order.
  const at::Tensor energy_total =
      m.model.deterministic() && a.nlocal > 0
          ? m.node_energy.narrow(0, 0, a.nlocal)
                .index_select(0, at::argsort(id_tensor(a.tag, a.nlocal, on), true, 0, false))
                .sum()
          : m.node_energy.sum();
  const at::Tensor totals =
      at::cat({energy_total.view({1}), w.narrow(1, 0, 6).sum(0), shortest2}).cpu();
  lap("scatter (device)");
  if (totals[7].item<double>() < m.min_distance * m.min_distance) {
    const std::int64_t e = length2.argmin().item<std::int64_t>();
    const at::Tensor tag = id_tensor(a.tag, a.nall, on);
    // Edges run between atoms (ghost images included) before folding: name their IDs.
    const at::Tensor ids = tag.index_select(0, at::stack({src_atom[e], dst_atom[e]})).cpu();
    throw CloseAtoms(ids[0].item<std::int64_t>(), ids[1].item<std::int64_t>(),
                     std::sqrt(totals[7].item<double>()), m.min_distance);
  }
  StepTotals out;
  out.energy = totals[0].item<double>();
  for (int k = 0; k < 6; ++k) out.virial[k] = totals[k + 1].item<double>();
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
