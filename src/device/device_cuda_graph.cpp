#include "device/device_cuda_graph.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "device/edge_kernels.h"
#include "staged/input_staging.h"
#include "staged/staged_cuda_graph.h"
#include "util/error.h"

namespace mlff {

namespace {

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

DeviceCudaGraph::DeviceCudaGraph(const LoadedModel& model, double cutoff)
    : model_(model),
      cutoff_(cutoff),
      stream_(c10::cuda::getStreamFromPool(false, model.torch_device().index())) {
  host_totals_ = at::empty({edge_kernels::kTotals},
                           at::TensorOptions().dtype(at::kDouble).pinned_memory(true));
}

DeviceCudaGraph::~DeviceCudaGraph() = default;

// Makes the buffers, or grows them (and drops the graph) when a size exceeds its capacity; a
// rank without pairs or atoms still gets buffers. Padding needs a node of its own and a node for
// every kPadEdgesPerNode padding edges. The table's pairs carry over, for an edge overflow
// between reneighborings; fill_table_tail must follow.
void DeviceCudaGraph::fit(std::int64_t nall, std::int64_t pairs, std::int64_t nodes,
                          std::int64_t edges) {
  const auto on = at::TensorOptions().device(model_.torch_device());
  const at::ScalarType input = model_.input_dtype();
  bool regrown = false;
  if (nall > cap_atoms_ || !x_.defined()) {
    cap_atoms_ = capacity_for(std::max<std::int64_t>(nall, 1), 16);
    // Two extra rows: the far one, then the origin, farther apart than the cutoff.
    x_ = at::zeros({cap_atoms_ + 2, 3}, on.dtype(at::kDouble));
    x_.select(0, cap_atoms_).select(0, 0).fill_(2.0 * cutoff_ + 1.0);
    centers_ = at::full({cap_atoms_}, cap_atoms_ + 1, on.dtype(at::kLong));
    regrown = true;
  }
  if (edges > cap_edges_ || !src_.defined()) {
    cap_edges_ = capacity_for(edges, 64);
    src_ = at::zeros({cap_edges_}, on.dtype(at::kLong));
    dst_ = at::zeros({cap_edges_}, on.dtype(at::kLong));
    edge_vec_ = at::zeros({cap_edges_, 3}, on.dtype(at::kDouble));
    model_vec_ = input == at::kDouble ? edge_vec_ : at::zeros({cap_edges_, 3}, on.dtype(input));
    regrown = true;
  }
  if (pairs > cap_pairs_ || !table_atoms_.defined()) {
    cap_pairs_ = capacity_for(pairs, 64);
    regrown = true;
  }
  if (nodes + 1 + cap_edges_ / kPadEdgesPerNode > cap_nodes_ || !z_.defined()) {
    cap_nodes_ = capacity_for(nodes, 16) + cap_edges_ / kPadEdgesPerNode + 1;
    regrow(z_, cap_nodes_, on.dtype(at::kLong));
    regrow(energy_mask_, cap_nodes_, on.dtype(at::kDouble));
    model_energy_mask_ = input == at::kDouble ? energy_mask_ : energy_mask_.to(input);
    force_ = at::zeros({cap_nodes_, 3}, on.dtype(at::kDouble));
    energy_ = at::zeros({cap_nodes_}, on.dtype(at::kDouble));
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
    table_rows_ = at::arange(rows, on.dtype(at::kLong));
    d_ = at::empty({rows, 3}, on.dtype(at::kDouble));
    within_ = at::empty({rows}, on.dtype(at::kByte));
    selected_ = at::empty({rows}, on.dtype(at::kLong));
    count_ = at::zeros({1}, on.dtype(at::kLong));
    totals_ = at::zeros({edge_kernels::kTotals}, on.dtype(at::kDouble));
    scratch_ = at::empty({static_cast<std::int64_t>(edge_kernels::selection_scratch_bytes(rows))},
                         on.dtype(at::kByte));
  }
  if (regrown) {
    graph_.reset();
    edge_grad_ = at::Tensor();
  }
}

// The table's rows after its pairs: unused rows, then padding edge j from padding node
// nodes_ + j mod (cap_nodes_ - nodes_) to itself, at most kPadEdgesPerNode on each.
void DeviceCudaGraph::fill_table_tail() {
  const std::int64_t rows = table_atoms_.size(1);
  table_atoms_.select(0, 0).narrow(0, pairs_, rows - pairs_).fill_(cap_atoms_);
  table_atoms_.select(0, 1).narrow(0, pairs_, rows - pairs_).fill_(cap_atoms_ + 1);
  const at::Tensor pad =
      at::remainder(at::arange(cap_edges_, table_nodes_.options()), cap_nodes_ - nodes_) + nodes_;
  table_nodes_.narrow(1, cap_pairs_, cap_edges_).copy_(pad.expand({2, cap_edges_}));
}

void DeviceCudaGraph::set_pairs(const CandidatePairs& p) {
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
  if (!model_energy_mask_.is_same(energy_mask_)) model_energy_mask_.copy_(energy_mask_);
  // The pairs' tensors belong to the engine's stream, which may reuse their memory at once.
  stream_.synchronize();
}

// The captured work: edges from the pair table, the model, the sums, the totals to the host.
void DeviceCudaGraph::enqueue() {
  const cudaStream_t s = stream_.stream();
  edge_kernels::PairTable table;
  table.atoms = table_atoms_.data_ptr<std::int64_t>();
  table.nodes = table_nodes_.data_ptr<std::int64_t>();
  table.row_index = table_rows_.data_ptr<std::int64_t>();
  table.rows = table_atoms_.size(1);
  table.pad_first = cap_pairs_;
  // Models take float32 or float64 inputs (LoadedModel::input_dtype).
  const bool single = model_vec_.scalar_type() == at::kFloat;
  auto fill = [&](auto* model_vec) {
    if (edge_kernels::picks_in_one_block(table.rows)) {
      edge_kernels::pick_edges(table, x_.data_ptr<double>(), cutoff_, cap_edges_,
                               src_.data_ptr<std::int64_t>(), dst_.data_ptr<std::int64_t>(),
                               edge_vec_.data_ptr<double>(), model_vec, force_.data_ptr<double>(),
                               cap_nodes_, count_.data_ptr<std::int64_t>(),
                               totals_.data_ptr<double>(), s);
      return;
    }
    edge_kernels::select_edges(table, x_.data_ptr<double>(), cutoff_, d_.data_ptr<double>(),
                               within_.data_ptr<std::uint8_t>(), selected_.data_ptr<std::int64_t>(),
                               count_.data_ptr<std::int64_t>(), totals_.data_ptr<double>(),
                               scratch_.data_ptr(), scratch_.numel(), s);
    edge_kernels::fill_edges(table, selected_.data_ptr<std::int64_t>(),
                             count_.data_ptr<std::int64_t>(), d_.data_ptr<double>(), cap_edges_,
                             src_.data_ptr<std::int64_t>(), dst_.data_ptr<std::int64_t>(),
                             edge_vec_.data_ptr<double>(), model_vec, force_.data_ptr<double>(),
                             cap_nodes_, s);
  };
  if (single)
    fill(model_vec_.data_ptr<float>());
  else
    fill(model_vec_.data_ptr<double>());
  const std::vector<at::Tensor> result =
      model_.forward({z_, src_, dst_, model_vec_, model_energy_mask_}, nullptr);
  // Outputs in the model's input type, as the kernel reads them. Sizes are the capacities, fixed
  // for the graph's life: every center slot is summed (the unused ones hold a finite row).
  const at::Tensor node_energy =
      result[0].reshape({cap_nodes_}).to(model_vec_.scalar_type()).contiguous();
  edge_grad_ = result[1].reshape({cap_edges_, 3}).to(model_vec_.scalar_type()).contiguous();
  auto sum = [&](const auto* grad, const auto* energy) {
    edge_kernels::sum_edges(cap_edges_, src_.data_ptr<std::int64_t>(),
                            dst_.data_ptr<std::int64_t>(), edge_vec_.data_ptr<double>(), grad,
                            cap_nodes_, energy, energy_mask_.data_ptr<double>(),
                            centers_.data_ptr<std::int64_t>(), cap_atoms_, x_.data_ptr<double>(),
                            count_.data_ptr<std::int64_t>(), force_.data_ptr<double>(),
                            energy_.data_ptr<double>(), totals_.data_ptr<double>(), s);
  };
  if (single)
    sum(edge_grad_.data_ptr<float>(), node_energy.data_ptr<float>());
  else
    sum(edge_grad_.data_ptr<double>(), node_energy.data_ptr<double>());
  check_cuda(cudaMemcpyAsync(host_totals_.data_ptr(), totals_.data_ptr(),
                             edge_kernels::kTotals * sizeof(double), cudaMemcpyDeviceToHost, s),
             "copy of the totals");
}

void DeviceCudaGraph::capture() {
  graph_.reset();
  graph_ = capture_cuda_graph([this] { enqueue(); }, "the Kokkos step");
}

// The positions are copied in and the graph replayed on the engine's stream, after the work
// that wrote the positions: no event between two streams in the step. A new graph is captured
// on the graph's own stream first, once the engine's work is done.
GraphTotals DeviceCudaGraph::replay(const double* x, c10::cuda::CUDAStream engine,
                                    StepProfile* profile) {
  auto copy_positions = [&](cudaStream_t s) {
    if (nall_ > 0)
      check_cuda(cudaMemcpyAsync(x_.data_ptr(), x, 3 * sizeof(double) * nall_,
                                 cudaMemcpyDeviceToDevice, s),
                 "copy of the positions");
  };
  if (!graph_) {
    engine.synchronize();
    c10::cuda::CUDAStreamGuard guard(stream_);
    copy_positions(stream_.stream());
    capture();
  }
  c10::cuda::CUDAStreamGuard guard(engine);
  copy_positions(engine.stream());
  replay_and_wait(*graph_, engine, profile);
  const double* h = host_totals_.data_ptr<double>();
  GraphTotals t;
  t.energy = h[edge_kernels::kEnergy];
  virial_from_sum(h + edge_kernels::kVirialSum, t.virial);
  t.shortest2 = edge_kernels::decode_shortest2(h[edge_kernels::kShortest2]);
  t.edges = static_cast<std::int64_t>(h[edge_kernels::kEdges]);
  t.centers_finite = std::isfinite(h[edge_kernels::kCenters]);
  return t;
}

GraphTotals DeviceCudaGraph::run(const double* x, cudaStream_t engine, StepProfile* profile) {
  const c10::cuda::CUDAStream engine_stream =
      c10::cuda::getStreamFromExternal(engine, model_.torch_device().index());
  GraphTotals t = replay(x, engine_stream, profile);
  if (t.edges > cap_edges_) {  // more pairs came within the cutoff than the graph holds
    c10::cuda::CUDAStreamGuard guard(stream_);
    fit(nall_, pairs_, nodes_, t.edges);
    fill_table_tail();
    stream_.synchronize();
    t = replay(x, engine_stream, profile);
  }
  return t;
}

ModelSums DeviceCudaGraph::sums(int virial_width) const {
  ModelSums rows;
  rows.energy = energy_.narrow(0, 0, nodes_);
  rows.force = force_.narrow(0, 0, nodes_);
  if (virial_width > 0)
    rows.virial = node_virials(src_, dst_, edge_vec_, edge_grad_, cap_nodes_, virial_width)
                      .narrow(0, 0, nodes_);
  return rows;
}

}  // namespace mlff
