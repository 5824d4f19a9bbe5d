#include <cmath>
#include <cstring>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_select.cuh>
#include <string>

#include "device/edge_kernels.h"
#include "util/cuda_check.h"

namespace mlff::edge_kernels {

namespace {

constexpr int kThreads = 256;
// The bits of +inf: for non-negative doubles the order of their bits is the order of their
// values, so kInfBits - bits(d2) is largest for the shortest pair and an atomicMax finds it in
// a slot that starts at zero.
constexpr unsigned long long kInfBits = 0x7FF0000000000000ull;
// pick_edges: one block of kBlockThreads threads, which takes the table kBlockThreads rows at a
// time; up to kOneBlockRows rows that costs less than the five launches it replaces.
constexpr int kBlockThreads = 1024;
constexpr std::int64_t kOneBlockRows = 8 * kBlockThreads;

int blocks_for(std::int64_t n) {
  return static_cast<int>((n + kThreads - 1) / kThreads);
}

template <class V>
__device__ V warp_sum(V value) {
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  return value;
}

// Table row `row`'s vector x[src] - x[dst] into v, and its squared length.
__device__ double row_vector(const std::int64_t* atoms, std::int64_t rows, std::int64_t row,
                             const double* x, double v[3]) {
  const double* a = x + 3 * atoms[row];
  const double* b = x + 3 * atoms[rows + row];
  for (int k = 0; k < 3; ++k) v[k] = a[k] - b[k];
  return v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
}

// kInfBits - bits(d2), largest for the shortest pair; 0 (never taken) for NaN.
__device__ unsigned long long closeness(double d2) {
  return isnan(d2) ? 0ull : kInfBits - static_cast<unsigned long long>(__double_as_longlong(d2));
}

// The largest closeness of a warp into *shortest, one atomic per warp; every lane calls it.
__device__ void take_closest(unsigned long long closest, double* shortest) {
  for (int offset = 16; offset > 0; offset /= 2)
    closest = max(closest, __shfl_down_sync(0xffffffffu, closest, offset));
  if (threadIdx.x % 32 == 0 && closest > 0)
    atomicMax(reinterpret_cast<unsigned long long*>(shortest), closest);
}

__global__ void edge_vectors(const std::int64_t* atoms, std::int64_t rows, const double* x,
                             double cutoff2, double* d, std::uint8_t* within, double* shortest) {
  const std::int64_t row = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  unsigned long long closest = 0;
  if (row < rows) {
    const double d2 = row_vector(atoms, rows, row, x, d + 3 * row);
    within[row] = d2 <= cutoff2;
    closest = closeness(d2);
  }
  take_closest(closest, shortest);
}

// Edge slot `slot` takes table row `row`, whose vector is v.
template <class T>
__device__ void fill_slot(std::int64_t slot, std::int64_t row, const std::int64_t* nodes,
                          std::int64_t rows, const double v[3], std::int64_t* src,
                          std::int64_t* dst, double* vec, T* model_vec) {
  src[slot] = nodes[row];
  dst[slot] = nodes[rows + row];
  for (int k = 0; k < 3; ++k) {
    vec[3 * slot + k] = v[k];
    model_vec[3 * slot + k] = static_cast<T>(v[k]);
  }
}

template <class T>
__global__ void fill_slots(const std::int64_t* nodes, std::int64_t rows, std::int64_t pad_first,
                           const std::int64_t* selected, const std::int64_t* count, const double* d,
                           std::int64_t slots, std::int64_t* src, std::int64_t* dst, double* vec,
                           T* model_vec, double* force, std::int64_t force_values) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < slots) {
    const std::int64_t edges = *count < slots ? *count : slots;
    const std::int64_t row = i < edges ? selected[i] : pad_first + (i - edges);
    fill_slot(i, row, nodes, rows, d + 3 * row, src, dst, vec, model_vec);
  }
  if (i < force_values) force[i] = 0.0;
}

// edge_vectors, the selection and fill_slots in one block: each pass takes kBlockThreads rows,
// and a scan of their cutoff flags gives the selected ones their slots in table order.
template <class T>
__global__ void __launch_bounds__(kBlockThreads)
    pick_in_block(const std::int64_t* atoms, const std::int64_t* nodes, std::int64_t rows,
                  std::int64_t pad_first, const double* x, double cutoff2, std::int64_t slots,
                  std::int64_t* src, std::int64_t* dst, double* vec, T* model_vec, double* force,
                  std::int64_t force_values, std::int64_t* count, double* totals) {
  using Scan = cub::BlockScan<int, kBlockThreads>;
  __shared__ typename Scan::TempStorage scan;
  for (int k = threadIdx.x; k < kTotals; k += kBlockThreads) totals[k] = 0.0;
  for (std::int64_t i = threadIdx.x; i < force_values; i += kBlockThreads) force[i] = 0.0;
  __syncthreads();  // the totals are zero before the shortest length is taken into them

  unsigned long long closest = 0;
  std::int64_t taken = 0;  // rows within the cutoff in the passes before, the same in every thread
  for (std::int64_t first = 0; first < rows; first += kBlockThreads) {
    const std::int64_t row = first + threadIdx.x;
    double v[3] = {0.0, 0.0, 0.0};
    int within = 0;
    if (row < rows) {
      const double d2 = row_vector(atoms, rows, row, x, v);
      within = d2 <= cutoff2;
      closest = max(closest, closeness(d2));
    }
    int before = 0, in_pass = 0;
    Scan(scan).ExclusiveSum(within, before, in_pass);
    if (within && taken + before < slots)
      fill_slot(taken + before, row, nodes, rows, v, src, dst, vec, model_vec);
    taken += in_pass;
    __syncthreads();  // the scan's storage is used again
  }
  // Slots beyond the edges take padding rows in order.
  const std::int64_t edges = taken < slots ? taken : slots;
  for (std::int64_t slot = edges + threadIdx.x; slot < slots; slot += kBlockThreads) {
    const std::int64_t row = pad_first + (slot - edges);
    double v[3];
    row_vector(atoms, rows, row, x, v);
    fill_slot(slot, row, nodes, rows, v, src, dst, vec, model_vec);
  }
  take_closest(closest, totals + kShortest2);
  if (threadIdx.x == 0) *count = taken;
}

__global__ void add_to(double* to, const double* from, std::int64_t values) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < values) to[i] += from[i];
}

template <class T>
__global__ void sum_slots(std::int64_t slots, const std::int64_t* src, const std::int64_t* dst,
                          const double* vec, const T* grad, std::int64_t nodes,
                          const T* node_energy, const double* energy_mask,
                          const std::int64_t* centers, std::int64_t num_centers, const double* x,
                          const std::int64_t* count, double* force, double* energy,
                          double* totals) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  double outer[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  double node_energy_sum = 0.0, center_sum = 0.0;
  if (i < slots) {
    const double g[3] = {static_cast<double>(grad[3 * i]), static_cast<double>(grad[3 * i + 1]),
                         static_cast<double>(grad[3 * i + 2])};
    const double* r = vec + 3 * i;
    for (int k = 0; k < 3; ++k) {
      atomicAdd(force + 3 * src[i] + k, -g[k]);
      atomicAdd(force + 3 * dst[i] + k, g[k]);
    }
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) outer[3 * a + b] = r[a] * g[b];
  }
  if (i < nodes) {
    node_energy_sum = static_cast<double>(node_energy[i]) * energy_mask[i];
    energy[i] = node_energy_sum;
  }
  if (i < num_centers) {
    const double* c = x + 3 * centers[i];
    center_sum = c[0] + c[1] + c[2];
  }
  if (i == 0) totals[kEdges] = static_cast<double>(*count);
  // One atomic per warp and total: a graph of 5,000 nodes has some 10^5 edges.
  node_energy_sum = warp_sum(node_energy_sum);
  center_sum = warp_sum(center_sum);
  for (double& component : outer) component = warp_sum(component);
  if (threadIdx.x % 32 == 0) {
    atomicAdd(totals + kEnergy, node_energy_sum);
    atomicAdd(totals + kCenters, center_sum);
    for (int k = 0; k < 9; ++k) atomicAdd(totals + kVirialSum + k, outer[k]);
  }
}

}  // namespace

std::size_t selection_scratch_bytes(std::int64_t rows) {
  std::size_t bytes = 0;
  check_cuda(cub::DeviceSelect::Flagged(nullptr, bytes, static_cast<const std::int64_t*>(nullptr),
                                        static_cast<const std::uint8_t*>(nullptr),
                                        static_cast<std::int64_t*>(nullptr),
                                        static_cast<std::int64_t*>(nullptr), rows),
             "sizing the edge selection");
  return bytes;
}

void select_edges(const PairTable& table, const double* x, double cutoff, double* d,
                  std::uint8_t* within, std::int64_t* selected, std::int64_t* count, double* totals,
                  void* scratch, std::size_t scratch_bytes, cudaStream_t stream) {
  check_cuda(cudaMemsetAsync(totals, 0, kTotals * sizeof(double), stream), "zeroing the totals");
  if (table.rows > 0)
    edge_vectors<<<blocks_for(table.rows), kThreads, 0, stream>>>(
        table.atoms, table.rows, x, cutoff * cutoff, d, within, totals + kShortest2);
  check_cuda(cudaGetLastError(), "the edge vectors kernel");
  check_cuda(cub::DeviceSelect::Flagged(scratch, scratch_bytes, table.row_index, within, selected,
                                        count, table.rows, stream),
             "the edge selection");
}

template <class T>
void fill_edges(const PairTable& table, const std::int64_t* selected, const std::int64_t* count,
                const double* d, std::int64_t slots, std::int64_t* src, std::int64_t* dst,
                double* vec, T* model_vec, double* force, std::int64_t force_rows,
                cudaStream_t stream) {
  const std::int64_t threads = slots > 3 * force_rows ? slots : 3 * force_rows;
  if (threads > 0)
    fill_slots<T><<<blocks_for(threads), kThreads, 0, stream>>>(
        table.nodes, table.rows, table.pad_first, selected, count, d, slots, src, dst, vec,
        model_vec, force, 3 * force_rows);
  check_cuda(cudaGetLastError(), "the edge slots kernel");
}

template <class T>
void sum_edges(std::int64_t slots, const std::int64_t* src, const std::int64_t* dst,
               const double* vec, const T* grad, std::int64_t nodes, const T* node_energy,
               const double* energy_mask, const std::int64_t* centers, std::int64_t num_centers,
               const double* x, const std::int64_t* count, double* force, double* energy,
               double* totals, cudaStream_t stream) {
  std::int64_t threads = slots > nodes ? slots : nodes;
  if (num_centers > threads) threads = num_centers;
  if (threads < 1) threads = 1;  // the edge count is written either way
  sum_slots<T><<<blocks_for(threads), kThreads, 0, stream>>>(
      slots, src, dst, vec, grad, nodes, node_energy, energy_mask, centers, num_centers, x, count,
      force, energy, totals);
  check_cuda(cudaGetLastError(), "the sums kernel");
}

bool picks_in_one_block(std::int64_t rows) {
  return rows <= kOneBlockRows;
}

template <class T>
void pick_edges(const PairTable& table, const double* x, double cutoff, std::int64_t slots,
                std::int64_t* src, std::int64_t* dst, double* vec, T* model_vec, double* force,
                std::int64_t force_rows, std::int64_t* count, double* totals, cudaStream_t stream) {
  pick_in_block<T><<<1, kBlockThreads, 0, stream>>>(
      table.atoms, table.nodes, table.rows, table.pad_first, x, cutoff * cutoff, slots, src, dst,
      vec, model_vec, force, 3 * force_rows, count, totals);
  check_cuda(cudaGetLastError(), "the edge picking kernel");
}

void add_values(double* to, const double* from, std::int64_t values, cudaStream_t stream) {
  if (values > 0) add_to<<<blocks_for(values), kThreads, 0, stream>>>(to, from, values);
  check_cuda(cudaGetLastError(), "the force addition kernel");
}

double decode_shortest2(double slot) {
  unsigned long long encoded = 0;
  std::memcpy(&encoded, &slot, sizeof encoded);
  const unsigned long long bits = kInfBits - encoded;
  double shortest2 = 0.0;
  std::memcpy(&shortest2, &bits, sizeof shortest2);
  return shortest2;
}

template void fill_edges<float>(const PairTable&, const std::int64_t*, const std::int64_t*,
                                const double*, std::int64_t, std::int64_t*, std::int64_t*, double*,
                                float*, double*, std::int64_t, cudaStream_t);
template void fill_edges<double>(const PairTable&, const std::int64_t*, const std::int64_t*,
                                 const double*, std::int64_t, std::int64_t*, std::int64_t*, double*,
                                 double*, double*, std::int64_t, cudaStream_t);
template void pick_edges<float>(const PairTable&, const double*, double, std::int64_t,
                                std::int64_t*, std::int64_t*, double*, float*, double*,
                                std::int64_t, std::int64_t*, double*, cudaStream_t);
template void pick_edges<double>(const PairTable&, const double*, double, std::int64_t,
                                 std::int64_t*, std::int64_t*, double*, double*, double*,
                                 std::int64_t, std::int64_t*, double*, cudaStream_t);
template void sum_edges<float>(std::int64_t, const std::int64_t*, const std::int64_t*,
                               const double*, const float*, std::int64_t, const float*,
                               const double*, const std::int64_t*, std::int64_t, const double*,
                               const std::int64_t*, double*, double*, double*, cudaStream_t);
template void sum_edges<double>(std::int64_t, const std::int64_t*, const std::int64_t*,
                                const double*, const double*, std::int64_t, const double*,
                                const double*, const std::int64_t*, std::int64_t, const double*,
                                const std::int64_t*, double*, double*, double*, cudaStream_t);

}  // namespace mlff::edge_kernels
