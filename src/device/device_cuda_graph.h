#pragma once

// The device step's work for small graphs, captured once as a CUDA graph and replayed
// (pair_style mlff/student/kk ... cuda_graph auto|yes). Internal to the core: it includes LibTorch.

#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "device/model_launch.h"
#include "model/loaded_model.h"
#include "util/step_profile.h"

namespace mlff {

// The pairs of a neighbor list that can become edges (both atoms of non-NULL types), fixed from
// one reneighboring to the next; which of them are edges is decided at every step.
struct CandidatePairs {
  at::Tensor src_atom, dst_atom;  // [pairs] int64 atom indices: edge_vec = x[src] - x[dst]
  at::Tensor src_node, dst_node;  // [pairs] int64 graph nodes (the owners where ghosts fold)
  at::Tensor z;                   // [nodes] int64 atomic numbers
  at::Tensor energy_mask;         // [nodes] float64: 1 for energies that count
  at::Tensor centers;             // int64 atoms with a neighbor row: their positions are checked
  std::int64_t nall = 0;          // atoms whose positions the step reads
  std::int64_t edges = 0;         // pairs within the cutoff now, to size the graph
};

struct GraphTotals {
  double energy = 0.0;
  double virial[6] = {0, 0, 0, 0, 0, 0};
  double shortest2 = 0.0;  // squared length of the shortest edge (or a pair beyond the cutoff)
  std::int64_t edges = 0;
  bool centers_finite = true;  // false when a center has a non-finite position
};

// Buffers of fixed capacity hold the pairs, node types and positions; the graph gathers the edges
// within the cutoff in neighbor-list order (a stable selection, so that they come in the eager
// step's order), fills the capacity with edges between padding nodes, runs the model and sums
// forces and totals onto the padded nodes. Only the positions are copied in each step. The graph
// is captured again when the pairs, nodes or edges outgrow the capacities, which grow by 1/16.
// The work around the model is a handful of kernels of the project's own (edge_kernels.h),
// since each launch costs some microseconds however small the system; per-node virials, rarely
// asked for, are summed after the replay.
//
// The pair table holds the pairs, then unused rows, then one padding edge for each edge slot; its
// unused and padding rows join two extra rows of the positions that lie farther apart than the
// cutoff, so that only pairs are ever within it.
class DeviceCudaGraph {
 public:
  DeviceCudaGraph(const LoadedModel& model, double cutoff);
  ~DeviceCudaGraph();

  void set_pairs(const CandidatePairs& pairs);

  // x: [nall][3] float64 in device memory, written by work queued on `engine`; the graph runs
  // on `engine` after it and is finished on return.
  GraphTotals run(const double* x, cudaStream_t engine, StepProfile* profile = nullptr);

  // The last run's node rows [0, nodes): energies and forces are views into the graph's outputs;
  // per-node virials are summed now, on the current stream.
  ModelSums sums(int virial_width) const;

 private:
  void fit(std::int64_t nall, std::int64_t pairs, std::int64_t nodes, std::int64_t edges);
  void fill_table_tail();
  void enqueue();
  void capture();
  GraphTotals replay(const double* x, c10::cuda::CUDAStream engine, StepProfile* profile);

  const LoadedModel& model_;
  const double cutoff_;
  c10::cuda::CUDAStream stream_;  // captures
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  std::int64_t nall_ = 0, pairs_ = 0, nodes_ = 0;
  std::int64_t cap_atoms_ = 0, cap_pairs_ = 0, cap_nodes_ = 0, cap_edges_ = 0;
  // Inputs (filled outside the graph): positions [cap_atoms_ + 2, 3]; the pair table's atoms and
  // nodes [2, cap_pairs_ + cap_edges_] (src, dst) and its row numbers; centers to check, padded
  // with a finite row; node types and the energy mask (float64, and in the model's input type).
  at::Tensor x_, table_atoms_, table_nodes_, table_rows_, centers_, z_, energy_mask_,
      model_energy_mask_;
  // Work buffers and outputs, at fixed addresses for the captured kernels: each row's vector,
  // its cutoff flag, the selected rows, their count, the selection's scratch, the totals; each
  // edge slot's nodes and vector (float64, and the model's input), the model's gradient, the
  // node rows of forces and energies.
  at::Tensor d_, within_, selected_, count_, scratch_, totals_, host_totals_;
  at::Tensor src_, dst_, edge_vec_, model_vec_, edge_grad_, force_, energy_;
};

}  // namespace mlff
