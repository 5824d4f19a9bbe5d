#pragma once

// CUDA kernels of the Kokkos step's captured graph (device_cuda_graph.h): picking the edges from a
// pair table before the model, summing its outputs onto nodes and into totals after it. Each is
// one kernel or two, where the same work in LibTorch operations took about 29 launches, each
// costing some microseconds in a graph however small the system. Plain pointers and sizes: the
// file that implements them is compiled by nvcc, without LibTorch.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace mlff::edge_kernels {

// Slots of the totals array: energy, the sum over edges of edge_vec[a] edge_grad[b] (row-major,
// 9), the shortest squared pair length (encoded, see decode_shortest2), the edge count and the
// sum of the centers' coordinates (finite when they all are).
enum Total { kEnergy = 0, kVirialSum = 1, kShortest2 = 10, kEdges = 11, kCenters = 12 };
constexpr int kTotals = 13;

// The pair table: rows [0, rows) with atoms[row] (src) and atoms[rows + row] (dst); rows from
// pad_first on are padding rows, used in order to fill the edge slots.
struct PairTable {
  const std::int64_t* atoms = nullptr;      // [2, rows]
  const std::int64_t* nodes = nullptr;      // [2, rows]
  const std::int64_t* row_index = nullptr;  // [rows]: 0, 1, ..., the selection's input
  std::int64_t rows = 0, pad_first = 0;
};

// Scratch (bytes) that select_edges needs for `rows` rows.
std::size_t selection_scratch_bytes(std::int64_t rows);

// Zeroes `totals`; edge vectors d = x[src] - x[dst] of every row [rows, 3], the rows within the
// cutoff (within[rows], 0/1) in table order into selected[], their number into *count, and the
// shortest squared length into totals.
void select_edges(const PairTable& table, const double* x, double cutoff, double* d,
                  std::uint8_t* within, std::int64_t* selected, std::int64_t* count, double* totals,
                  void* scratch, std::size_t scratch_bytes, cudaStream_t stream);

// Edge slot s < min(count, slots) takes selected row s, the others padding row
// pad_first + s - count: its nodes into src and dst, its vector into vec (float64) and into
// model_vec (the model's input type: float or double, which may be vec itself). Zeroes `force`
// ([force_rows, 3]).
template <class T>
void fill_edges(const PairTable& table, const std::int64_t* selected, const std::int64_t* count,
                const double* d, std::int64_t slots, std::int64_t* src, std::int64_t* dst,
                double* vec, T* model_vec, double* force, std::int64_t force_rows,
                cudaStream_t stream);

// After the model: forces (a gradient g pushes src by -g and dst by +g) added to the zeroed
// `force`, node energies times the mask into `energy`, and into totals the energy, the virial
// sum, the edge count and the centers' coordinate sum.
template <class T>
void sum_edges(std::int64_t slots, const std::int64_t* src, const std::int64_t* dst,
               const double* vec, const T* grad, std::int64_t nodes, const T* node_energy,
               const double* energy_mask, const std::int64_t* centers, std::int64_t num_centers,
               const double* x, const std::int64_t* count, double* force, double* energy,
               double* totals, cudaStream_t stream);

// Whether pick_edges does the work of select_edges and fill_edges for a table of `rows` rows:
// small tables cost more in launches than in work, and one block of threads takes them in one.
bool picks_in_one_block(std::int64_t rows);

// select_edges and fill_edges in one kernel of one block, for tables that picks_in_one_block
// accepts: the same slots in the same order, the same totals and count (d is not written).
template <class T>
void pick_edges(const PairTable& table, const double* x, double cutoff, std::int64_t slots,
                std::int64_t* src, std::int64_t* dst, double* vec, T* model_vec, double* force,
                std::int64_t force_rows, std::int64_t* count, double* totals, cudaStream_t stream);

// to[i] += from[i] for i < values: the forces into the engine's array, in one launch where
// LibTorch's addition costs more on the host than the addition costs on the GPU.
void add_values(double* to, const double* from, std::int64_t values, cudaStream_t stream);

// The shortest squared length from totals[kShortest2], read on the host.
double decode_shortest2(double slot);

}  // namespace mlff::edge_kernels
