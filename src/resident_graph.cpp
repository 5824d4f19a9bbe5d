#include "resident_graph.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cuda_graph_step.h"
#include "input_staging.h"
#include "mlff_error.h"

namespace mlff {

namespace {

// Slots of the totals the graph copies to the host: energy, virial (6), shortest squared edge
// length, edge count, non-finite positions.
constexpr int kTotals = 10;

std::int64_t grown(std::int64_t needed, std::int64_t minimum_margin) {
  return needed + std::max(minimum_margin, needed / 16);
}

// Rows [0, rows) of a buffer, zeros beyond: a larger buffer keeps what the smaller one held, so
// that a graph that outgrows its edges within a run keeps its pairs and nodes.
void regrow(at::Tensor& buffer, std::int64_t rows, const at::TensorOptions& options) {
  std::vector<std::int64_t> shape{rows};
  if (buffer.defined()) shape.insert(shape.end(), buffer.sizes().begin() + 1, buffer.sizes().end());
  at::Tensor grown_buffer = at::zeros(shape, options);
  if (buffer.defined()) grown_buffer.narrow(0, 0, buffer.size(0)).copy_(buffer);
  buffer = grown_buffer;
}

}  // namespace

ResidentGraph::ResidentGraph(const LoadedModel& model, double cutoff)
    : model_(model),
      cutoff_(cutoff),
      stream_(c10::cuda::getStreamFromPool(false, model.torch_device().index())) {
  host_totals_ = at::empty({kTotals}, at::TensorOptions().dtype(at::kDouble).pinned_memory(true));
}

ResidentGraph::~ResidentGraph() = default;

// Makes the buffers, or grows them (and drops the graph) when a size exceeds its capacity; a
// rank without pairs or atoms still gets buffers. Padding needs a node of its own and a node for
// every kPadEdgesPerNode padding edges.
void ResidentGraph::fit(std::int64_t nall, std::int64_t pairs, std::int64_t nodes,
                        std::int64_t edges) {
  const auto on = at::TensorOptions().device(model_.torch_device());
  bool regrown = false;
  if (nall > cap_atoms_ || !x_.defined()) {
    cap_atoms_ = grown(std::max<std::int64_t>(nall, 1), 16);
    x_ = at::zeros({cap_atoms_, 3}, on.dtype(at::kDouble));
    regrow(center_, cap_atoms_, on.dtype(at::kBool));
    regrown = true;
  }
  if (edges > cap_edges_ || !slots_.defined()) {
    cap_edges_ = grown(edges, 64);
    slots_ = at::arange(cap_edges_, on.dtype(at::kLong));
    regrown = true;
  }
  const std::int64_t wanted_pairs = std::max(pairs, cap_edges_);
  if (wanted_pairs > cap_pairs_ || !pair_ok_.defined()) {
    cap_pairs_ = grown(wanted_pairs, 64);
    for (at::Tensor* t : {&src_atom_, &dst_atom_, &src_node_, &dst_node_})
      regrow(*t, cap_pairs_, on.dtype(at::kLong));
    regrow(pair_ok_, cap_pairs_, on.dtype(at::kBool));
    regrown = true;
  }
  if (nodes + 1 + cap_edges_ / kPadEdgesPerNode > cap_nodes_ || !z_.defined()) {
    cap_nodes_ = grown(nodes, 16) + cap_edges_ / kPadEdgesPerNode + 1;
    regrow(z_, cap_nodes_, on.dtype(at::kLong));
    regrow(energy_mask_, cap_nodes_, on.dtype(at::kDouble));
    regrown = true;
  }
  if (!node_count_.defined()) {
    node_count_ = at::zeros({1}, on.dtype(at::kLong));
    far_ = at::zeros({1, 3}, on.dtype(at::kDouble));
    far_.select(1, 0).fill_(2.0 * cutoff_ + 1.0);  // padding edges: longer than the cutoff
  }
  if (regrown) {
    graph_.reset();
    sums_ = NodeSums();
  }
}

void ResidentGraph::set_pairs(const CandidatePairs& p) {
  c10::cuda::CUDAStreamGuard guard(stream_);
  const std::int64_t pairs = p.src_atom.numel(), nodes = p.z.numel();
  fit(p.nall, pairs, nodes, p.edges);
  nall_ = p.nall, pairs_ = pairs, nodes_ = nodes;
  src_atom_.narrow(0, 0, pairs).copy_(p.src_atom);
  dst_atom_.narrow(0, 0, pairs).copy_(p.dst_atom);
  src_node_.narrow(0, 0, pairs).copy_(p.src_node);
  dst_node_.narrow(0, 0, pairs).copy_(p.dst_node);
  pair_ok_.fill_(false).narrow(0, 0, pairs).fill_(true);
  center_.fill_(false).index_fill_(0, p.centers, true);
  z_.fill_(0).narrow(0, 0, nodes).copy_(p.z);
  energy_mask_.fill_(0.0).narrow(0, 0, nodes).copy_(p.energy_mask);
  node_count_.fill_(nodes);
  // The pairs' tensors belong to the engine's stream, which may reuse their memory at once.
  stream_.synchronize();
}

// The captured work: edges from the pairs, the model, the sums, the totals to the host.
void ResidentGraph::enqueue() {
  const at::Tensor d = x_.index_select(0, src_atom_) - x_.index_select(0, dst_atom_);
  const at::Tensor d2 = d.square().sum(1);
  const at::Tensor keep = pair_ok_ & (d2 <= cutoff_ * cutoff_);
  // Kept pairs first, each group in pair order.
  const at::Tensor first =
      std::get<1>(keep.logical_not().to(at::kByte).sort(true, 0, false)).narrow(0, 0, cap_edges_);
  const at::Tensor count = keep.sum();
  const at::Tensor valid = slots_ < count;
  const at::Tensor pad =
      node_count_ + at::remainder(slots_ - count, node_count_.neg() + cap_nodes_);
  const at::Tensor src = at::where(valid, src_node_.index_select(0, first), pad);
  const at::Tensor dst = at::where(valid, dst_node_.index_select(0, first), pad);
  const at::Tensor vec = at::where(valid.unsqueeze(1), d.index_select(0, first), far_);
  const at::Tensor length2 = at::where(valid, d2.index_select(0, first), cutoff_ * cutoff_);
  sums_ = sum_onto_nodes(model_, z_, src, dst, vec, energy_mask_, 9);
  const at::Tensor non_finite = (at::isfinite(x_).all(1).logical_not() & center_).sum();
  const at::Tensor totals = at::cat(
      {sums_.energy.sum().view({1}),
       (sums_.edge_virial.narrow(1, 0, 6) * valid.unsqueeze(1)).sum(0), length2.min().view({1}),
       count.to(at::kDouble).view({1}), non_finite.to(at::kDouble).view({1})});
  host_totals_.copy_(totals, /*non_blocking=*/true);
}

void ResidentGraph::capture() {
  graph_.reset();
  sums_ = NodeSums();
  graph_ = capture_cuda_graph([this] { enqueue(); }, "the Kokkos step");
}

GraphTotals ResidentGraph::replay() {
  if (!graph_) capture();
  graph_->replay();
  stream_.synchronize();
  const double* h = host_totals_.data_ptr<double>();
  GraphTotals t;
  t.energy = h[0];
  std::copy(h + 1, h + 7, t.virial);
  t.shortest2 = h[7];
  t.edges = static_cast<std::int64_t>(h[8]);
  t.non_finite = static_cast<std::int64_t>(h[9]);
  return t;
}

GraphTotals ResidentGraph::run(const double* x, cudaStream_t engine) {
  c10::cuda::CUDAStreamGuard guard(stream_);
  const c10::cuda::CUDAStream engine_stream =
      c10::cuda::getStreamFromExternal(engine, model_.torch_device().index());
  // Positions in on the graph's stream, after the engine's work that wrote them and after the
  // graph's own work on the buffer.
  positions_in_.record(engine_stream);
  positions_in_.block(stream_);
  if (nall_ > 0) {
    const cudaError_t status = cudaMemcpyAsync(x_.data_ptr(), x, 3 * sizeof(double) * nall_,
                                               cudaMemcpyDeviceToDevice, stream_.stream());
    if (status != cudaSuccess)
      throw Error(std::string("copy of the positions failed: ") + cudaGetErrorString(status));
  }
  GraphTotals t = replay();
  if (t.edges > cap_edges_) {  // more pairs came within the cutoff than the graph holds
    fit(nall_, pairs_, nodes_, t.edges);
    t = replay();
  }
  return t;
}

NodeSums ResidentGraph::sums(int virial_width) const {
  NodeSums rows;
  rows.energy = sums_.energy.narrow(0, 0, nodes_);
  rows.force = sums_.force.narrow(0, 0, nodes_);
  if (virial_width > 0) rows.virial = sums_.virial.narrow(0, 0, nodes_).narrow(1, 0, virial_width);
  return rows;
}

}  // namespace mlff
