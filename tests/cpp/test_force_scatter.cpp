#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "graph/edge_graph.h"
#include "graph/force_scatter.h"

namespace {

// A pair energy sum_e phi(|r_e|) over directed edges stands in for the model: its edge gradient is
// known in closed form, so forces and virials can be checked against finite differences.
double phi(double d) {
  return 0.3 * (d - 1.5) * (d - 1.5) + 0.1 * d * d * d;
}
double dphi(double d) {
  return 0.6 * (d - 1.5) + 0.3 * d * d;
}

struct Cluster {
  int n = 7;
  std::vector<double> x;
  std::vector<int> type;
  std::vector<int> centers, counts;
  std::vector<std::vector<int>> lists;
  std::vector<const int*> list_ptrs;

  Cluster() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(0.0, 3.0);
    for (int i = 0; i < 3 * n; ++i) x.push_back(u(rng));
    type.assign(n, 1);
    lists.resize(n);
    for (int i = 0; i < n; ++i) {
      centers.push_back(i);
      for (int j = 0; j < n; ++j)
        if (j != i) lists[i].push_back(j);
      counts.push_back(n - 1);
      list_ptrs.push_back(lists[i].data());
    }
  }

  mlff::EdgeGraph graph() const {
    mlff::EdgeGraph g;
    g.build({x.data(), type.data(), n, n}, {n, centers.data(), counts.data(), list_ptrs.data(), ~0},
            {0, 6}, nullptr, n, 10.0);
    return g;
  }

  static std::vector<double> edge_grad(const mlff::EdgeGraph& g) {
    std::vector<double> grad(3 * g.num_edges());
    for (std::int64_t e = 0; e < g.num_edges(); ++e) {
      const double* r = &g.edge_vec[3 * e];
      const double d = std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
      for (int a = 0; a < 3; ++a) grad[3 * e + a] = dphi(d) * r[a] / d;
    }
    return grad;
  }

  double energy() const {
    mlff::EdgeGraph g = graph();
    double e = 0.0;
    for (std::int64_t k = 0; k < g.num_edges(); ++k) {
      const double* r = &g.edge_vec[3 * k];
      e += phi(std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]));
    }
    return e;
  }
};

}  // namespace

TEST(ForceScatter, ForcesAreMinusEnergyGradient) {
  Cluster c;
  mlff::EdgeGraph g = c.graph();
  std::vector<double> f(3 * c.n, 0.0);
  mlff::ForceScatter scatter;
  scatter.forces(g, Cluster::edge_grad(g).data(), f.data());
  const double h = 1e-6;
  for (int i = 0; i < 3 * c.n; ++i) {
    const double x0 = c.x[i];
    c.x[i] = x0 + h;
    const double ep = c.energy();
    c.x[i] = x0 - h;
    const double em = c.energy();
    c.x[i] = x0;
    EXPECT_NEAR(f[i], -(ep - em) / (2 * h), 1e-6) << "component " << i;
  }
}

TEST(ForceScatter, VirialMatchesPositionsTimesForces) {
  Cluster c;
  mlff::EdgeGraph g = c.graph();
  std::vector<double> f(3 * c.n, 0.0);
  const auto grad = Cluster::edge_grad(g);
  mlff::ForceScatter scatter;
  const mlff::Virial w = scatter.forces(g, grad.data(), f.data());
  // For an isolated cluster the virial is sum_i x_i (x) f_i, LAMMPS order xx yy zz xy xz yz.
  const int ab[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  std::vector<double> per_node(6 * c.n, 0.0);
  scatter.per_node_virial(g, grad.data(), per_node.data());
  for (int k = 0; k < 6; ++k) {
    double expect = 0.0, summed = 0.0;
    for (int i = 0; i < c.n; ++i) {
      expect += c.x[3 * i + ab[k][0]] * f[3 * i + ab[k][1]];
      summed += per_node[6 * i + k];
    }
    EXPECT_NEAR(w[k], expect, 1e-9) << "component " << k;
    EXPECT_NEAR(summed, w[k], 1e-9) << "component " << k;
  }
}

TEST(ForceScatter, EnergyCountsMaskedNodesOnly) {
  mlff::EdgeGraph g;
  g.z = {1, 1, 1};
  g.energy_mask = {1.0, 0.0, 1.0};
  const double energies[] = {1.5, 100.0, -0.25};
  EXPECT_DOUBLE_EQ(mlff::ForceScatter::energy(g, energies), 1.25);
}

TEST(ForceScatter, NonFiniteOutputsAreDetected) {
  Cluster c;
  mlff::EdgeGraph g = c.graph();
  std::vector<double> f(3 * c.n, 0.0);
  auto grad = Cluster::edge_grad(g);
  mlff::ForceScatter scatter;
  EXPECT_TRUE(mlff::ForceScatter::finite(1.0, scatter.forces(g, grad.data(), f.data())));
  grad[7] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(mlff::ForceScatter::finite(1.0, scatter.forces(g, grad.data(), f.data())));
  grad[7] = 0.0;
  EXPECT_FALSE(mlff::ForceScatter::finite(std::numeric_limits<double>::infinity(),
                                          scatter.forces(g, grad.data(), f.data())));
}

namespace {
// A graph of random edges, large enough for the threaded scatter.
mlff::EdgeGraph random_graph(int nodes, std::int64_t edges, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> node(0, nodes - 1);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  mlff::EdgeGraph g;
  g.z.assign(nodes, 6);
  g.energy_mask.assign(nodes, 1.0);
  for (std::int64_t e = 0; e < edges; ++e) {
    g.src.push_back(node(rng));
    g.dst.push_back(node(rng));
    for (int a = 0; a < 3; ++a) g.edge_vec.push_back(value(rng));
  }
  return g;
}
}  // namespace

TEST(ForceScatter, ThreadedScatterEqualsOneEdgeAtATime) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(3);  // whatever the machine has: an odd count, rows that do not divide evenly
  mlff::ForceScatter scatter;
  // The second, smaller graph reuses the first one's per-thread rows.
  for (auto [nodes, edges] : {std::pair<int, std::int64_t>{5000, 300000}, {700, 120000}}) {
    const mlff::EdgeGraph g = random_graph(nodes, edges, static_cast<unsigned>(nodes));
    std::vector<double> grad(3 * edges);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> value(-1.0, 1.0);
    for (double& v : grad) v = value(rng);
    std::vector<double> f(3 * nodes, 0.0), f_ref(3 * nodes, 0.0);
    std::vector<double> vn(6 * nodes, 0.0), vn_ref(6 * nodes, 0.0);
    mlff::Virial w_ref{};
    const int ab[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
    for (std::int64_t e = 0; e < edges; ++e) {
      for (int a = 0; a < 3; ++a) {
        f_ref[3 * g.src[e] + a] -= grad[3 * e + a];
        f_ref[3 * g.dst[e] + a] += grad[3 * e + a];
      }
      for (int k = 0; k < 6; ++k) {
        const double w = -g.edge_vec[3 * e + ab[k][0]] * grad[3 * e + ab[k][1]];
        w_ref[k] += w;
        vn_ref[6 * g.src[e] + k] += 0.5 * w;
        vn_ref[6 * g.dst[e] + k] += 0.5 * w;
      }
    }
    const mlff::Virial w = scatter.forces(g, grad.data(), f.data());
    scatter.per_node_virial(g, grad.data(), vn.data());
    for (int i = 0; i < 3 * nodes; ++i) EXPECT_NEAR(f[i], f_ref[i], 1e-9) << i;
    for (int i = 0; i < 6 * nodes; ++i) EXPECT_NEAR(vn[i], vn_ref[i], 1e-9) << i;
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(w[k], w_ref[k], 1e-8) << k;
  }
  omp_set_num_threads(threads);
}
