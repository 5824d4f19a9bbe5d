#include "resident_graph.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda_graph_step.h"
#include "input_staging.h"
#include "mlff_error.h"

namespace mlff {

namespace {

// Slots of the totals the graph copies to the host: energy, the virial sum (9), shortest squared
// pair length, edge count, sum of the centers' coordinates (finite when they all are).
constexpr int kTotals = 13;

std::int64_t grown(std::int64_t needed, std::int64_t minimum_margin) {
  return needed + std::max(minimum_margin, needed / 16);
}

// Rows [0, rows) of a buffer, zeros beyond: a larger buffer keeps what the smaller one held, so
// that a graph that outgrows its edges within a run keeps its nodes.
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
// every kPadEdgesPerNode padding edges. The table's pairs carry over, for an edge overflow
// between reneighborings; fill_table_tail must follow.
void ResidentGraph::fit(std::int64_t nall, std::int64_t pairs, std::int64_t nodes,
                        std::int64_t edges) {
  const auto on = at::TensorOptions().device(model_.torch_device());
  bool regrown = false;
  if (nall > cap_atoms_ || !x_.defined()) {
    cap_atoms_ = grown(std::max<std::int64_t>(nall, 1), 16);
    // Two extra rows: the far one, then the origin, farther apart than the cutoff.
    x_ = at::zeros({cap_atoms_ + 2, 3}, on.dtype(at::kDouble));
    x_.select(0, cap_atoms_).select(0, 0).fill_(2.0 * cutoff_ + 1.0);
    centers_ = at::full({cap_atoms_}, cap_atoms_ + 1, on.dtype(at::kLong));
    regrown = true;
  }
  if (edges > cap_edges_ || !table_atoms_.defined()) {
    cap_edges_ = grown(edges, 64);
    regrown = true;
  }
  if (pairs > cap_pairs_ || !table_atoms_.defined()) {
    cap_pairs_ = grown(pairs, 64);
    regrown = true;
  }
  if (nodes + 1 + cap_edges_ / kPadEdgesPerNode > cap_nodes_ || !z_.defined()) {
    cap_nodes_ = grown(nodes, 16) + cap_edges_ / kPadEdgesPerNode + 1;
    regrow(z_, cap_nodes_, on.dtype(at::kLong));
    regrow(energy_mask_, cap_nodes_, on.dtype(model_.input_dtype()));
    regrown = true;
  }
  const std::int64_t rows = cap_pairs_ + cap_edges_;
  if (!table_atoms_.defined() || table_atoms_.size(1) != rows) {
    at::Tensor atoms = at::zeros({2, rows}, on.dtype(at::kLong));
    at::Tensor nodes_of_pairs = at::zeros({2, rows}, on.dtype(at::kLong));
    if (table_atoms_.defined() && pairs_ > 0) {
      atoms.narrow(1, 0, pairs_).copy_(table_atoms_.narrow(1, 0, pairs_));
      nodes_of_pairs.narrow(1, 0, pairs_).copy_(table_nodes_.narrow(1, 0, pairs_));
    }
    table_atoms_ = atoms;
    table_nodes_ = nodes_of_pairs;
    table_group_ = at::empty({rows}, on.dtype(at::kByte));
  }
  if (regrown) {
    graph_.reset();
    sums_ = NodeSums();
    src_ = dst_ = edge_vec_ = at::Tensor();
  }
}

// The table's rows after its pairs: unused rows, then padding edge j from padding node
// nodes_ + j mod (cap_nodes_ - nodes_) to itself, at most kPadEdgesPerNode on each.
void ResidentGraph::fill_table_tail() {
  const std::int64_t rows = table_atoms_.size(1);
  table_atoms_.select(0, 0).narrow(0, pairs_, rows - pairs_).fill_(cap_atoms_);
  table_atoms_.select(0, 1).narrow(0, pairs_, rows - pairs_).fill_(cap_atoms_ + 1);
  const at::Tensor pad =
      at::remainder(at::arange(cap_edges_, table_nodes_.options()), cap_nodes_ - nodes_) + nodes_;
  table_nodes_.narrow(1, cap_pairs_, cap_edges_).copy_(pad.expand({2, cap_edges_}));
  table_group_.fill_(2).narrow(0, cap_pairs_, cap_edges_).fill_(1);
}

void ResidentGraph::set_pairs(const CandidatePairs& p) {
  c10::cuda::CUDAStreamGuard guard(stream_);
  const std::int64_t pairs = p.src_atom.numel(), nodes = p.z.numel();
  fit(p.nall, pairs, nodes, p.edges);
  nall_ = p.nall, pairs_ = pairs, nodes_ = nodes;
  table_atoms_.select(0, 0).narrow(0, 0, pairs).copy_(p.src_atom);
  table_atoms_.select(0, 1).narrow(0, 0, pairs).copy_(p.dst_atom);
  table_nodes_.select(0, 0).narrow(0, 0, pairs).copy_(p.src_node);
  table_nodes_.select(0, 1).narrow(0, 0, pairs).copy_(p.dst_node);
  fill_table_tail();
  centers_.fill_(cap_atoms_ + 1).narrow(0, 0, p.centers.numel()).copy_(p.centers);
  z_.fill_(0).narrow(0, 0, nodes).copy_(p.z);
  energy_mask_.fill_(0).narrow(0, 0, nodes).copy_(p.energy_mask);
  // The pairs' tensors belong to the engine's stream, which may reuse their memory at once.
  stream_.synchronize();
}

// The captured work: edges from the pair table, the model, the sums, the totals to the host.
void ResidentGraph::enqueue() {
  const std::int64_t rows = table_atoms_.size(1);
  const at::Tensor ends = x_.index_select(0, table_atoms_.view({-1})).view({2, rows, 3});
  const at::Tensor d = ends.select(0, 0) - ends.select(0, 1);
  const at::Tensor d2 = d.square().sum(1);
  const at::Tensor within = d2 <= cutoff_ * cutoff_;
  const at::Tensor order =
      std::get<1>(at::where(within, 0, table_group_).sort(true, 0, false)).narrow(0, 0, cap_edges_);
  const at::Tensor edge_nodes = table_nodes_.index_select(1, order);
  src_ = edge_nodes.select(0, 0);
  dst_ = edge_nodes.select(0, 1);
  edge_vec_ = d.index_select(0, order);
  sums_ = sum_onto_nodes(model_, z_, src_, dst_, edge_vec_, energy_mask_, 0);
  const at::Tensor totals = at::cat({sums_.energy.sum().view({1}), sums_.virial_sum.view({9}),
                                     d2.min().view({1}), within.sum().to(at::kDouble).view({1}),
                                     x_.index_select(0, centers_).sum().view({1})});
  host_totals_.copy_(totals, /*non_blocking=*/true);
}

void ResidentGraph::capture() {
  graph_.reset();
  sums_ = NodeSums();
  graph_ = capture_cuda_graph([this] { enqueue(); }, "the Kokkos step");
}

GraphTotals ResidentGraph::replay(StepProfile* profile) {
  if (!graph_) capture();
  replay_and_wait(*graph_, stream_, profile);
  const double* h = host_totals_.data_ptr<double>();
  GraphTotals t;
  t.energy = h[0];
  virial_from_sum(h + 1, t.virial);
  t.shortest2 = h[10];
  t.edges = static_cast<std::int64_t>(h[11]);
  t.centers_finite = std::isfinite(h[12]);
  return t;
}

GraphTotals ResidentGraph::run(const double* x, cudaStream_t engine, StepProfile* profile) {
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
  GraphTotals t = replay(profile);
  if (t.edges > cap_edges_) {  // more pairs came within the cutoff than the graph holds
    fit(nall_, pairs_, nodes_, t.edges);
    fill_table_tail();
    t = replay(profile);
  }
  return t;
}

NodeSums ResidentGraph::sums(int virial_width) const {
  NodeSums rows;
  rows.energy = sums_.energy.narrow(0, 0, nodes_);
  rows.force = sums_.force.narrow(0, 0, nodes_);
  if (virial_width > 0)
    rows.virial = node_virials(src_, dst_, edge_vec_, sums_.edge_grad, cap_nodes_, virial_width)
                      .narrow(0, 0, nodes_);
  return rows;
}

}  // namespace mlff
