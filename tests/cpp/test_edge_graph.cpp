#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "graph/edge_graph.h"
#include "util/error.h"

namespace {

// Three owned atoms on a line and one ghost that images atom 0; full neighbor lists.
struct Fixture {
  std::vector<double> x{0, 0, 0, 1, 0, 0, 3, 0, 0, 4, 0, 0};
  std::vector<int> type{1, 2, 1, 1};
  std::vector<int> centers{0, 1, 2};
  std::vector<int> counts{2, 2, 3};
  std::vector<int> l0{1, 2}, l1{0, 2}, l2{0, 1, 3};
  std::vector<const int*> lists{l0.data(), l1.data(), l2.data(), nullptr};
  std::vector<int> type_to_z{0, 6, 1};

  mlff::AtomArrays atoms() const { return {x.data(), type.data(), 3, 4}; }
  mlff::NeighborLists neighbors() const {
    return {3, centers.data(), counts.data(), lists.data(), ~0};
  }
};

}  // namespace

TEST(EdgeGraph, KeepsPairsWithinCutoff) {
  Fixture fx;
  mlff::EdgeGraph g;
  g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, nullptr, 4, 2.5);
  // 0<->1 (d=1), 1->2 and 2->1 (d=2), 2<-3 (ghost, d=1); 0<->2 (d=3) is out.
  ASSERT_EQ(g.num_edges(), 5);
  ASSERT_EQ(g.num_nodes(), 4);
  EXPECT_EQ(g.z, (std::vector<std::int64_t>{6, 1, 6, 6}));
  EXPECT_EQ(g.energy_mask, (std::vector<double>{1, 1, 1, 0}));
  for (std::int64_t e = 0; e < g.num_edges(); ++e) {
    const int s = g.src[e], d = g.dst[e];
    EXPECT_DOUBLE_EQ(g.edge_vec[3 * e], fx.x[3 * s] - fx.x[3 * d]);
  }
  EXPECT_EQ(g.src.back(), 3);
  EXPECT_EQ(g.dst.back(), 2);
}

TEST(EdgeGraph, FoldsGhostsOntoOwnersKeepingImageVectors) {
  Fixture fx;
  std::vector<int> node_of{0, 1, 2, 0};
  mlff::EdgeGraph g;
  g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, node_of.data(), 3, 2.5);
  ASSERT_EQ(g.num_nodes(), 3);
  ASSERT_EQ(g.num_edges(), 5);
  EXPECT_EQ(g.src.back(), 0);  // the ghost's owner
  EXPECT_EQ(g.dst.back(), 2);
  EXPECT_DOUBLE_EQ(g.edge_vec[3 * 4], 1.0);  // the image's vector, not x[0] - x[2]
}

TEST(EdgeGraph, SkipsNullTypes) {
  Fixture fx;
  fx.type_to_z = {0, 6, 0};  // type 2 (atom 1) ignored
  mlff::EdgeGraph g;
  g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, nullptr, 4, 2.5);
  EXPECT_EQ(g.num_edges(), 1);  // only the ghost edge 3 -> 2 is left
  EXPECT_EQ(g.energy_mask[1], 0.0);
}

TEST(EdgeGraph, RejectsNonFinitePositions) {
  Fixture fx;
  fx.x[3] = std::numeric_limits<double>::quiet_NaN();
  mlff::EdgeGraph g;
  EXPECT_THROW(g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, nullptr, 4, 2.5), mlff::Error);
}

TEST(EdgeGraph, ReusesCapacityAcrossSteps) {
  Fixture fx;
  mlff::EdgeGraph g;
  g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, nullptr, 4, 2.5);
  const double* before = g.edge_vec.data();
  g.build(fx.atoms(), fx.neighbors(), fx.type_to_z, nullptr, 4, 2.5);
  EXPECT_EQ(before, g.edge_vec.data());
}
