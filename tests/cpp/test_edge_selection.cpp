// The three edge selections pick the same edges from one neighbor list: EdgeGraph (the staged
// step, OpenMP), list_pairs (the device step's eager path, ATen, on the CPU and on a GPU) and the
// CUDA graph's kernels (select_edges + fill_edges, and pick_edges in one block).

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "device/pair_listing.h"
#include "graph/edge_graph.h"
#include "model/model_runner.h"
#ifdef MLFF_EDGE_KERNELS
#include "device/edge_kernels.h"
#endif

namespace {

constexpr double kCutoff = 3.0;
constexpr int kMask = 0x1FFFFFFF;

// Random atoms in a box, the last of them ghosts, with a full neighbor list of every pair within
// the cutoff plus a skin, in shuffled order, one entry in four flagged above the index bits, in a
// table wider than any row whose unused slots hold garbage. Some atoms are of a NULL type, one
// sits alone, and ghosts are not centers.
struct RandomNeighbors {
  int nlocal = 60, nall = 80, width = 0;
  std::vector<double> x;
  std::vector<int> type;
  std::vector<int> type_to_z{0, 6, 1, 0};  // type 3 is NULL
  std::vector<int> centers, counts, table;
  std::vector<const int*> rows;

  explicit RandomNeighbors(unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> coord(0.0, 9.0);
    std::uniform_int_distribution<int> pick_type(1, 3);
    for (int i = 0; i < nall; ++i) {
      for (int k = 0; k < 3; ++k) x.push_back(coord(rng));
      type.push_back(i % 7 == 0 ? 3 : pick_type(rng) == 3 ? 2 : 1);
    }
    x[0] = x[1] = x[2] = 40.0;  // alone: a center without neighbors
    std::vector<std::vector<int>> lists(nall);
    for (int i = 0; i < nlocal; ++i) {
      centers.push_back(i);
      for (int j = 0; j < nall; ++j) {
        if (j == i) continue;
        double r2 = 0;
        for (int k = 0; k < 3; ++k)
          r2 += (x[3 * j + k] - x[3 * i + k]) * (x[3 * j + k] - x[3 * i + k]);
        if (r2 < (kCutoff + 1.0) * (kCutoff + 1.0)) lists[i].push_back(j);
      }
      std::shuffle(lists[i].begin(), lists[i].end(), rng);
      for (std::size_t n = 0; n < lists[i].size(); n += 4) lists[i][n] |= 1 << 30;
    }
    for (const auto& list : lists) width = std::max(width, static_cast<int>(list.size()) + 2);
    table.assign(static_cast<std::size_t>(nall) * width, 123456);
    for (int i = 0; i < nall; ++i) {
      counts.push_back(static_cast<int>(lists[i].size()));
      std::copy(lists[i].begin(), lists[i].end(), table.begin() + std::size_t(i) * width);
      rows.push_back(table.data() + std::size_t(i) * width);
    }
  }

  // The table transposed (a column per atom), as Kokkos lays it out on a GPU.
  std::vector<int> transposed() const {
    std::vector<int> t(table.size());
    for (int i = 0; i < nall; ++i)
      for (int n = 0; n < width; ++n)
        t[std::size_t(n) * nall + i] = table[std::size_t(i) * width + n];
    return t;
  }

  mlff::NeighborTable neighbor_table(const int* data, bool column_per_atom) const {
    return {nlocal,
            centers.data(),
            counts.data(),
            data,
            nall,
            width,
            column_per_atom ? 1 : width,
            column_per_atom ? nall : 1,
            kMask};
  }

  at::Tensor z_atom(const at::TensorOptions& on) const {
    std::vector<std::int64_t> z;
    for (int t : type) z.push_back(type_to_z[t]);
    return at::tensor(z, at::kLong).to(on.device());
  }
};

// (dst, src) of each edge, sorted: the edges as a set.
using Edges = std::vector<std::pair<std::int64_t, std::int64_t>>;

Edges sorted(Edges edges) {
  std::sort(edges.begin(), edges.end());
  return edges;
}

Edges from_tensors(const at::Tensor& dst, const at::Tensor& src) {
  const at::Tensor d = dst.cpu().contiguous(), s = src.cpu().contiguous();
  Edges edges;
  for (std::int64_t e = 0; e < d.numel(); ++e)
    edges.emplace_back(d.data_ptr<std::int64_t>()[e], s.data_ptr<std::int64_t>()[e]);
  return sorted(edges);
}

Edges edge_graph_edges(const RandomNeighbors& fx) {
  mlff::EdgeGraph g;
  g.build({fx.x.data(), fx.type.data(), fx.nlocal, fx.nall},
          {fx.nlocal, fx.centers.data(), fx.counts.data(), fx.rows.data(), kMask}, fx.type_to_z,
          nullptr, fx.nall, kCutoff);
  Edges edges;
  for (std::int64_t e = 0; e < g.num_edges(); ++e) {
    edges.emplace_back(g.dst[e], g.src[e]);
    for (int k = 0; k < 3; ++k)
      EXPECT_EQ(g.edge_vec[3 * e + k], fx.x[3 * g.src[e] + k] - fx.x[3 * g.dst[e] + k]);
  }
  return sorted(edges);
}

// Every pair of non-NULL atoms within the cutoff, from the positions alone.
Edges expected_edges(const RandomNeighbors& fx) {
  Edges edges;
  for (int i = 0; i < fx.nlocal; ++i)
    for (int j = 0; j < fx.nall; ++j) {
      if (j == i || !fx.type_to_z[fx.type[i]] || !fx.type_to_z[fx.type[j]]) continue;
      double r2 = 0;
      for (int k = 0; k < 3; ++k) {
        const double d = fx.x[3 * j + k] - fx.x[3 * i + k];
        r2 += d * d;
      }
      if (r2 <= kCutoff * kCutoff) edges.emplace_back(i, j);
    }
  return sorted(edges);
}

struct OnDevice {
  at::TensorOptions on;
  at::Tensor x, z, centers, counts, table;

  OnDevice(const RandomNeighbors& fx, const std::vector<int>& table_values, at::Device device)
      : on(at::TensorOptions().device(device)) {
    const auto ints = [&](const std::vector<int>& v) {
      return at::tensor(v, at::kInt).to(device).contiguous();
    };
    x = at::tensor(fx.x, at::kDouble).view({fx.nall, 3}).to(device).contiguous();
    z = fx.z_atom(on);
    centers = ints(fx.centers);
    counts = ints(fx.counts);
    table = ints(table_values);
  }

  mlff::NeighborTable neighbor_table(const RandomNeighbors& fx, bool column_per_atom) const {
    mlff::NeighborTable t = fx.neighbor_table(table.data_ptr<int>(), column_per_atom);
    t.centers = centers.data_ptr<int>();
    t.num_neighbors = counts.data_ptr<int>();
    return t;
  }
};

Edges aten_edges(const RandomNeighbors& fx, at::Device device, bool column_per_atom) {
  const OnDevice d(fx, column_per_atom ? fx.transposed() : fx.table, device);
  const mlff::NeighborPairs p =
      mlff::list_pairs(d.neighbor_table(fx, column_per_atom), d.x, d.z, kCutoff, true);
  const at::Tensor vec = p.edge_vec.cpu();
  const at::Tensor expect =
      (d.x.index_select(0, p.src_atom) - d.x.index_select(0, p.dst_atom)).cpu();
  EXPECT_TRUE(at::equal(vec, expect));
  return from_tensors(p.dst_atom, p.src_atom);
}

#ifdef MLFF_EDGE_KERNELS
namespace ek = mlff::edge_kernels;

// The CUDA graph's pair table as DeviceCudaGraph lays it out: every listed pair of non-NULL atoms,
// then one padding row per edge slot, between two extra atoms (nall, far away, and nall + 1, at
// the origin) and on a padding node (nall) of its own.
struct KernelTable {
  static constexpr std::int64_t kExtraSlots = 9;
  at::Tensor x, atoms, nodes, row_index;
  std::int64_t pairs = 0, slots = 0, nodes_used = 0;

  KernelTable(const RandomNeighbors& fx, const OnDevice& d) {
    const mlff::NeighborPairs p =
        mlff::list_pairs(d.neighbor_table(fx, true), d.x, d.z, kCutoff, false);
    pairs = p.src_atom.numel();
    slots = pairs + kExtraSlots;
    nodes_used = fx.nall + 1;
    x = at::cat({d.x, at::zeros({2, 3}, d.x.options())}).contiguous();
    x[fx.nall][0] = 2.0 * kCutoff + 1.0;
    const at::Tensor pad = at::full({slots}, fx.nall, d.on.dtype(at::kLong));
    atoms = at::stack({at::cat({p.src_atom, pad}), at::cat({p.dst_atom, pad + 1})}).contiguous();
    nodes = at::stack({at::cat({p.src_atom, pad}), at::cat({p.dst_atom, pad})}).contiguous();
    row_index = at::arange(pairs + slots, d.on.dtype(at::kLong));
  }

  ek::PairTable table() const {
    return {atoms.data_ptr<std::int64_t>(), nodes.data_ptr<std::int64_t>(),
            row_index.data_ptr<std::int64_t>(), atoms.size(1), pairs};
  }
};

// The slots the kernels filled: the edges, then padding rows on the padding node only, and the
// float64 vectors x[src] - x[dst] of the edges.
Edges kernel_edges(const KernelTable& k, const at::Tensor& src, const at::Tensor& dst,
                   const at::Tensor& vec, const at::Tensor& count, const RandomNeighbors& fx) {
  const std::int64_t edges = count.item<std::int64_t>();
  EXPECT_LE(edges, k.slots);
  const at::Tensor pad_src = src.narrow(0, edges, k.slots - edges);
  const at::Tensor pad_dst = dst.narrow(0, edges, k.slots - edges);
  EXPECT_TRUE(pad_src.eq(fx.nall).all().item<bool>());
  EXPECT_TRUE(pad_dst.eq(fx.nall).all().item<bool>());
  const at::Tensor s = src.narrow(0, 0, edges), t = dst.narrow(0, 0, edges);
  const at::Tensor expect = k.x.index_select(0, s) - k.x.index_select(0, t);
  EXPECT_TRUE(at::equal(vec.view({k.slots, 3}).narrow(0, 0, edges), expect));
  return from_tensors(t, s);
}
#endif

std::vector<unsigned> seeds() {
  return {1u, 2u, 3u, 4u, 5u};
}

}  // namespace

TEST(EdgeSelection, FixtureHasEdgesBeyondTheCutoffAndNullTypes) {
  const RandomNeighbors fx(1);
  const Edges expected = expected_edges(fx);
  std::int64_t listed = 0;
  for (int c : fx.counts) listed += c;
  EXPECT_GT(expected.size(), 200u);
  EXPECT_GT(listed, static_cast<std::int64_t>(expected.size()) + 100);
  EXPECT_EQ(fx.counts[0], 0);
}

TEST(EdgeSelection, EdgeGraphAndAtenOnTheCpuPickTheSameEdges) {
  for (unsigned seed : seeds()) {
    const RandomNeighbors fx(seed);
    const Edges expected = expected_edges(fx);
    EXPECT_EQ(edge_graph_edges(fx), expected) << "seed " << seed;
    EXPECT_EQ(aten_edges(fx, at::kCPU, false), expected) << "seed " << seed;
    EXPECT_EQ(aten_edges(fx, at::kCPU, true), expected) << "seed " << seed;
  }
}

TEST(EdgeSelection, AtenAndTheCudaGraphKernelsOnAGpuPickTheSameEdges) {
  if (!mlff::ModelRunner::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (unsigned seed : seeds()) {
    const RandomNeighbors fx(seed);
    const Edges expected = expected_edges(fx);
    EXPECT_EQ(aten_edges(fx, at::kCUDA, true), expected) << "seed " << seed;
#ifdef MLFF_EDGE_KERNELS
    const OnDevice d(fx, fx.transposed(), at::kCUDA);
    const KernelTable k(fx, d);
    const ek::PairTable table = k.table();
    const auto longs = [&](std::int64_t n) { return at::zeros({n}, d.on.dtype(at::kLong)); };
    const auto doubles = [&](std::int64_t n) { return at::zeros({n}, d.on.dtype(at::kDouble)); };
    at::Tensor dvec = doubles(3 * table.rows),
               within = at::zeros({table.rows}, d.on.dtype(at::kByte));
    at::Tensor selected = longs(table.rows), count = longs(1), totals = doubles(ek::kTotals);
    at::Tensor src = longs(k.slots), dst = longs(k.slots), vec = doubles(3 * k.slots);
    at::Tensor force = doubles(3 * k.nodes_used);
    const std::size_t scratch_bytes = ek::selection_scratch_bytes(table.rows);
    at::Tensor scratch = at::empty({std::int64_t(scratch_bytes)}, d.on.dtype(at::kByte));
    ek::select_edges(table, k.x.data_ptr<double>(), kCutoff, dvec.data_ptr<double>(),
                     within.data_ptr<std::uint8_t>(), selected.data_ptr<std::int64_t>(),
                     count.data_ptr<std::int64_t>(), totals.data_ptr<double>(), scratch.data_ptr(),
                     scratch_bytes, nullptr);
    ek::fill_edges<double>(table, selected.data_ptr<std::int64_t>(), count.data_ptr<std::int64_t>(),
                           dvec.data_ptr<double>(), k.slots, src.data_ptr<std::int64_t>(),
                           dst.data_ptr<std::int64_t>(), vec.data_ptr<double>(),
                           vec.data_ptr<double>(), force.data_ptr<double>(), k.nodes_used, nullptr);
    EXPECT_EQ(kernel_edges(k, src, dst, vec, count, fx), expected) << "select_edges, seed " << seed;
    ASSERT_TRUE(ek::picks_in_one_block(table.rows));
    src.fill_(-1);
    dst.fill_(-1);
    vec.zero_();
    ek::pick_edges<double>(table, k.x.data_ptr<double>(), kCutoff, k.slots,
                           src.data_ptr<std::int64_t>(), dst.data_ptr<std::int64_t>(),
                           vec.data_ptr<double>(), vec.data_ptr<double>(), force.data_ptr<double>(),
                           k.nodes_used, count.data_ptr<std::int64_t>(), totals.data_ptr<double>(),
                           nullptr);
    EXPECT_EQ(kernel_edges(k, src, dst, vec, count, fx), expected) << "pick_edges, seed " << seed;
#endif
  }
}
