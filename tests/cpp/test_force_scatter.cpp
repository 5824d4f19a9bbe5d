#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "edge_graph.h"
#include "force_scatter.h"

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
  mlff::ForceScatter::forces(g, Cluster::edge_grad(g).data(), f.data());
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
  const mlff::Virial w = mlff::ForceScatter::forces(g, grad.data(), f.data());
  // For an isolated cluster the virial is sum_i x_i (x) f_i, LAMMPS order xx yy zz xy xz yz.
  const int ab[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  std::vector<double> per_node(6 * c.n, 0.0);
  mlff::ForceScatter::per_node_virial(g, grad.data(), per_node.data());
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
  EXPECT_TRUE(
      mlff::ForceScatter::finite(1.0, mlff::ForceScatter::forces(g, grad.data(), f.data())));
  grad[7] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(
      mlff::ForceScatter::finite(1.0, mlff::ForceScatter::forces(g, grad.data(), f.data())));
  grad[7] = 0.0;
  EXPECT_FALSE(mlff::ForceScatter::finite(std::numeric_limits<double>::infinity(),
                                          mlff::ForceScatter::forces(g, grad.data(), f.data())));
}
