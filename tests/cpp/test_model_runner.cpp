#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "benzene.h"
#include "exchange/transport.h"
#include "graph/force_scatter.h"
#include "model/model_runner.h"
#include "util/error.h"

namespace {

using mlff_test::benzene;

std::string model_path(const std::string& name) {
  return std::string(MLFF_TEST_MODELS) + "/" + name;
}

// The float64 Python reference's energy of benzene, written by the test set-up.
double reference_benzene_energy(const std::string& model) {
  std::ifstream in(model_path(model + "_benzene_energy.txt"));
  double energy;
  if (!(in >> energy)) throw std::runtime_error("no reference energy for " + model);
  return energy;
}

}  // namespace

TEST(ModelRunner, ReadsMetadata) {
  mlff::ModelRunner runner(model_path("seedarch_427k_float32.pt"));
  EXPECT_DOUBLE_EQ(runner.metadata().cutoff, 5.0);
  EXPECT_EQ(runner.metadata().num_interactions, 3);
  EXPECT_EQ(runner.metadata().max_z, 100);
  EXPECT_EQ(runner.metadata().dtype, "float32");
}

TEST(ModelRunner, BenzeneEnergyMatchesThePythonReference) {
  const double expected = reference_benzene_energy("seedarch_427k");
  for (const char* file : {"seedarch_427k_float32.pt", "seedarch_427k_float64.pt"}) {
    mlff::ModelRunner runner(model_path(file));
    mlff::EdgeGraph g = benzene();
    mlff::ModelOutput out;
    runner.run(g, out);
    EXPECT_NEAR(mlff::ForceScatter::energy(g, out.node_energy), expected, 2e-4) << file;
  }
}

TEST(ModelRunner, EdgeGradientIsTheDerivativeOfTheMaskedEnergy) {
  mlff::ModelRunner runner(model_path("seedarch_427k_float64.pt"));
  mlff::EdgeGraph g = benzene();
  g.energy_mask[3] = 0.0;  // a ghost-like node: carries messages, its energy does not count
  mlff::ModelOutput out;
  runner.run(g, out);
  // The output views the runner's buffer, which the next run overwrites.
  const std::vector<double> grad(out.edge_grad, out.edge_grad + g.edge_vec.size());
  auto energy_at = [&](std::int64_t k, double shift) {
    mlff::EdgeGraph shifted = g;
    shifted.edge_vec[k] += shift;
    runner.run(shifted, out);
    return mlff::ForceScatter::energy(g, out.node_energy);
  };
  const double h = 1e-5;
  for (std::int64_t k : {0L, 7L, 40L, 3 * 131L + 2}) {
    const double fd = (energy_at(k, h) - energy_at(k, -h)) / (2 * h);
    EXPECT_NEAR(grad[k], fd, 1e-6) << "edge component " << k;
  }
}

TEST(ModelRunner, EmptyGraphGivesEmptyOutput) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float32.pt"));
  mlff::EdgeGraph g;
  mlff::ModelOutput out;
  runner.run(g, out);
  EXPECT_EQ(out.node_energy, nullptr);
  EXPECT_EQ(out.edge_grad, nullptr);
}

TEST(ModelRunner, IsolatedAtomHasNoEdgesButAnEnergy) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float32.pt"));
  mlff::EdgeGraph g;
  g.z = {6};
  g.energy_mask = {1.0};
  mlff::ModelOutput out;
  runner.run(g, out);
  ASSERT_NE(out.node_energy, nullptr);
  EXPECT_TRUE(std::isfinite(out.node_energy[0]));
}

TEST(ModelRunner, RejectsBadFiles) {
  EXPECT_THROW(mlff::ModelRunner(model_path("does_not_exist.pt")), mlff::Error);
  EXPECT_THROW(mlff::ModelRunner(model_path("corrupt.pt")), mlff::Error);
  EXPECT_THROW(mlff::ModelRunner(model_path("no_metadata.pt")), mlff::Error);
}

TEST(ModelRunner, Float64PrecisionRunsAFloat32File) {
  mlff::RunnerOptions options;
  options.device = mlff::Device::CPU;
  options.precision = mlff::Precision::FP64;
  mlff::ModelRunner runner(model_path("seedarch_427k_float32.pt"), options);
  EXPECT_EQ(runner.precision(), mlff::Precision::FP64);
  mlff::EdgeGraph g = benzene();
  mlff::ModelOutput out;
  runner.run(g, out);
  // The float32 weights, widened exactly, are the reference's weights: float64 all the way.
  EXPECT_NEAR(mlff::ForceScatter::energy(g, out.node_energy),
              reference_benzene_energy("seedarch_427k"), 2e-6);
}

TEST(ModelRunner, ReducedPrecisionNeedsCuda) {
  mlff::RunnerOptions options;
  options.device = mlff::Device::CPU;
  for (auto p : {mlff::Precision::TF32, mlff::Precision::FP16, mlff::Precision::BF16}) {
    options.precision = p;
    EXPECT_THROW(mlff::ModelRunner(model_path("seedarch_77k_float32.pt"), options), mlff::Error);
  }
}

TEST(ModelRunner, AotiPackageMatchesTorchScript) {
  mlff::RunnerOptions cpu;
  cpu.device = mlff::Device::CPU;
  mlff::ModelRunner aoti(model_path("seedarch_77k_cpu_fp32.pt2"), cpu);
  mlff::ModelRunner script(model_path("seedarch_77k_float64.pt"), cpu);
  EXPECT_EQ(aoti.metadata().format, "aoti");
  EXPECT_EQ(aoti.metadata().num_interactions, 2);
  mlff::EdgeGraph g = benzene();
  g.energy_mask[5] = 0.0;
  mlff::ModelOutput a, s;
  // Twice, with different sizes in between: the package is dynamic in nodes and edges.
  for (int pass = 0; pass < 2; ++pass) {
    aoti.run(g, a);
    script.run(g, s);
    EXPECT_NEAR(mlff::ForceScatter::energy(g, a.node_energy),
                mlff::ForceScatter::energy(g, s.node_energy), 1e-4);
    double err = 0, norm = 0;
    for (std::size_t k = 0; k < g.edge_vec.size(); ++k) {
      err += (a.edge_grad[k] - s.edge_grad[k]) * (a.edge_grad[k] - s.edge_grad[k]);
      norm += s.edge_grad[k] * s.edge_grad[k];
    }
    EXPECT_LT(std::sqrt(err / norm), 1e-5);
    g.z.pop_back();
    g.energy_mask.pop_back();
    std::int64_t keep = 0;
    for (std::int64_t e = 0; e < g.num_edges(); ++e)
      if (g.src[e] < 11 && g.dst[e] < 11) {
        g.src[keep] = g.src[e];
        g.dst[keep] = g.dst[e];
        for (int c = 0; c < 3; ++c) g.edge_vec[3 * keep + c] = g.edge_vec[3 * e + c];
        ++keep;
      }
    g.src.resize(keep);
    g.dst.resize(keep);
    g.edge_vec.resize(3 * keep);
  }
}

TEST(ModelRunner, AotiPackageRefusesAnotherPrecisionOrDevice) {
  mlff::RunnerOptions options;
  options.precision = mlff::Precision::FP64;
  EXPECT_THROW(mlff::ModelRunner(model_path("seedarch_77k_cpu_fp32.pt2"), options), mlff::Error);
  options = {};
  options.device = mlff::Device::CUDA;
  EXPECT_THROW(mlff::ModelRunner(model_path("seedarch_77k_cpu_fp32.pt2"), options), mlff::Error);
}

// AOTI packages are exported with at least 2 nodes and 2 edges as examples; smaller graphs (a
// lone atom, a sparse subdomain) must still give what TorchScript gives.
TEST(ModelRunner, AotiPackageRunsTinyGraphs) {
  mlff::RunnerOptions cpu;
  cpu.device = mlff::Device::CPU;
  mlff::ModelRunner aoti(model_path("seedarch_77k_cpu_fp32.pt2"), cpu);
  mlff::ModelRunner script(model_path("seedarch_77k_float64.pt"), cpu);
  mlff::EdgeGraph atom;
  atom.z = {6};
  atom.energy_mask = {1.0};
  mlff::EdgeGraph pair = atom;  // C-H at 1.1 Å: one node counts, two edges
  pair.z.push_back(1);
  pair.energy_mask.push_back(0.0);
  pair.src = {1, 0};
  pair.dst = {0, 1};
  pair.edge_vec = {1.1, 0.0, 0.0, -1.1, 0.0, 0.0};
  for (const mlff::EdgeGraph* g : {&atom, &pair}) {
    mlff::ModelOutput a, s;
    aoti.run(*g, a);
    script.run(*g, s);
    EXPECT_NEAR(mlff::ForceScatter::energy(*g, a.node_energy),
                mlff::ForceScatter::energy(*g, s.node_energy), 1e-4);
    for (std::size_t k = 0; k < g->edge_vec.size(); ++k)
      EXPECT_NEAR(a.edge_grad[k], s.edge_grad[k], 1e-4);
  }
}

// LibTorch's deterministic switch belongs to the whole process: each model runs with its own
// setting even when another model of the process, loaded later, wants the other one.
TEST(ModelRunner, EachModelRunsWithItsOwnDeterminism) {
  mlff::RunnerOptions options;
  options.device = mlff::Device::CPU;
  options.deterministic = true;
  mlff::ModelRunner deterministic(model_path("seedarch_77k_float32.pt"), options);
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  options.deterministic = false;
  mlff::ModelRunner fast(model_path("seedarch_77k_float32.pt"), options);
  EXPECT_FALSE(at::globalContext().deterministicAlgorithms());
  const mlff::EdgeGraph graph = benzene();
  mlff::ModelOutput out;
  deterministic.run(graph, out);
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  fast.run(graph, out);
  EXPECT_FALSE(at::globalContext().deterministicAlgorithms());
}

namespace {

// Benzene's atoms 6..11 (the hydrogens) also as ghost nodes 12..17, copies of the same atoms,
// with every edge from a hydrogen leaving its ghost: the graph of a rank whose ghosts image its
// own atoms. The exchange of one process copies owners' rows to their ghosts and adds ghosts'
// rows to their owners, as LAMMPS's forward and reverse communication do, through the functions
// a pair style's pack and unpack use (rows in host or device memory).
class ImageExchange : public mlff::ExchangeTransport {
 public:
  static constexpr int kOwned = 12, kGhosts = 6;
  ImageExchange() { owned_rows_ = kOwned; }
  bool needs_owners() const override { return false; }
  void plan(int, const std::vector<mlff::AtomOwner>&) override {}
  void refresh_ghosts(const mlff::FeatureRows& rows) override {
    ++refreshes;
    if (rows.count == 0) return;  // a graph without nodes
    buffer.resize(kGhosts * rows.width);
    mlff::gather_rows(rows, owners, kGhosts, buffer.data());
    mlff::copy_rows_in(rows, kOwned, kGhosts, buffer.data());
  }
  void fold_ghosts(const mlff::FeatureRows& rows) override {
    ++folds;
    if (rows.count == 0) return;
    buffer.resize(kGhosts * rows.width);
    mlff::copy_rows_out(rows, kOwned, kGhosts, buffer.data());
    mlff::add_to_rows(rows, owners, kGhosts, buffer.data());
  }
  const int owners[kGhosts] = {6, 7, 8, 9, 10, 11};
  std::vector<double> buffer;
  int refreshes = 0, folds = 0;
};

mlff::EdgeGraph benzene_with_ghost_hydrogens() {
  mlff::EdgeGraph g = benzene();
  for (int h = 6; h < 12; ++h) {
    g.z.push_back(1);
    g.energy_mask.push_back(0.0);
  }
  for (auto& s : g.src)
    if (s >= 6) s += ImageExchange::kGhosts;
  return g;
}

}  // namespace

TEST(ModelRunner, GhostExchangeGivesTheEnergyAndGradientsOfTheWholeGraph) {
  for (const char* file : {"seedarch_427k_float64.pt", "seedarch_77k_cpu_fp32.pt2"}) {
    const double tolerance = std::string(file).find("fp32") != std::string::npos ? 1e-5 : 1e-11;
    mlff::ModelRunner runner(model_path(file));
    ASSERT_TRUE(runner.metadata().ghost_exchange) << file;
    mlff::EdgeGraph whole = benzene();
    mlff::ModelOutput out;
    runner.run(whole, out);
    const double energy = mlff::ForceScatter::energy(whole, out.node_energy);
    const std::vector<double> grad(out.edge_grad, out.edge_grad + whole.edge_vec.size());

    mlff::EdgeGraph split = benzene_with_ghost_hydrogens();
    ImageExchange exchange;
    runner.run(split, out, nullptr, &exchange);
    const int interactions = runner.metadata().num_interactions;
    EXPECT_EQ(exchange.refreshes, interactions - 1) << file;
    EXPECT_EQ(exchange.folds, interactions - 1) << file;
    EXPECT_NEAR(mlff::ForceScatter::energy(split, out.node_energy), energy,
                tolerance * std::abs(energy))
        << file;
    for (std::size_t k = 0; k < grad.size(); ++k)
      ASSERT_NEAR(out.edge_grad[k], grad[k], tolerance) << file << " edge component " << k;

    // Without the exchange the ghosts keep the features computed here, which lack their
    // neighbors' messages: a different energy.
    runner.run(split, out);
    EXPECT_GT(std::abs(mlff::ForceScatter::energy(split, out.node_energy) - energy), 1e-3) << file;
  }
}

TEST(ModelRunner, AGraphWithoutNodesStillTakesPartInTheExchanges) {
  mlff::ModelRunner runner(model_path("seedarch_427k_float64.pt"));
  ImageExchange exchange;
  mlff::EdgeGraph empty;
  mlff::ModelOutput out;
  runner.run(empty, out, nullptr, &exchange);
  EXPECT_EQ(exchange.refreshes, 2);
  EXPECT_EQ(exchange.folds, 2);
}
