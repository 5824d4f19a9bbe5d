#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "device/device_step.h"
#include "model/model_runner.h"
#include "staged/staged_step.h"
#include "util/error.h"

namespace {

// Benzene in a periodic box 6.5 Å wide along x, as one rank sees it: 12 owned atoms, then ghost
// images shifted by one box length, and a padded full neighbor list (Kokkos-like: a 2D array
// wider than any row, unused slots holding garbage, special-bond flags above the index bits).
struct PeriodicBenzene {
  static constexpr double kBox = 6.5;
  static constexpr int kMask = 0x1FFFFFFF;
  int nlocal = 12, nall = 0, width = 0;
  std::vector<double> x;
  std::vector<int> type, tag;
  std::vector<int> centers, counts, padded;
  std::vector<std::vector<int>> lists;
  std::vector<const int*> list_ptrs;

  PeriodicBenzene() {
    const double atoms[12][4] = {
        {1, 0.000000, 1.395248, 0},  {1, 1.208320, 0.697624, 0},   {1, 1.208320, -0.697624, 0},
        {1, 0.000000, -1.395248, 0}, {1, -1.208320, -0.697624, 0}, {1, -1.208320, 0.697624, 0},
        {2, 0.000000, 2.482360, 0},  {2, 2.149787, 1.241180, 0},   {2, 2.149787, -1.241180, 0},
        {2, 0.000000, -2.482360, 0}, {2, -2.149787, -1.241180, 0}, {2, -2.149787, 1.241180, 0}};
    for (int shift : {0, 1, -1})
      for (int i = 0; i < 12; ++i) {
        x.insert(x.end(), {atoms[i][1] + shift * kBox, atoms[i][2], atoms[i][3]});
        type.push_back(static_cast<int>(atoms[i][0]));
        tag.push_back(i + 1);
      }
    nall = static_cast<int>(type.size());
    lists.resize(nall);
    for (int i = 0; i < nall; ++i) {
      centers.push_back(i);
      for (int j = 0; j < nall; ++j) {
        if (j == i) continue;
        double r2 = 0;
        for (int a = 0; a < 3; ++a) r2 += std::pow(x[3 * j + a] - x[3 * i + a], 2);
        // A skin of 1 Å beyond the 5 Å cutoff; every third entry carries a flag bit.
        if (r2 < 36.0) lists[i].push_back(lists[i].size() % 3 == 0 ? (j | (1 << 30)) : j);
      }
      counts.push_back(static_cast<int>(lists[i].size()));
      width = std::max(width, counts.back() + 3);
      list_ptrs.push_back(lists[i].data());
    }
    padded.assign(static_cast<std::size_t>(nall) * width, 987654);
    for (int i = 0; i < nall; ++i)
      std::copy(lists[i].begin(), lists[i].end(), padded.begin() + i * width);
  }

  mlff::HostArrays host_arrays(std::vector<double>& f, std::vector<double>& eatom,
                               std::vector<double>& vatom, int num_centers) const {
    mlff::HostArrays a;
    a.atoms = {x.data(), type.data(), nlocal, nall};
    a.tag = tag.data();
    a.neighbors = {num_centers, centers.data(), counts.data(), list_ptrs.data(), kMask};
    attach_outputs(a, f, eatom, vatom);
    return a;
  }

  mlff::DeviceArrays arrays(std::vector<double>& f, std::vector<double>& eatom,
                            std::vector<double>& vatom, int num_centers) const {
    mlff::DeviceArrays a;
    a.atoms = {x.data(), type.data(), nlocal, nall};
    a.tag = tag.data();
    a.neighbors = {num_centers, centers.data(), counts.data(), padded.data(), nall, width, width,
                   1,           kMask};
    attach_outputs(a, f, eatom, vatom);
    return a;
  }

  // Forces, per-atom energies and virials for a step to add to, zeroed.
  template <class Arrays>
  void attach_outputs(Arrays& a, std::vector<double>& f, std::vector<double>& eatom,
                      std::vector<double>& vatom) const {
    f.assign(3 * nall, 0.0);
    eatom.assign(nall, 0.0);
    vatom.assign(6 * nall, 0.0);
    a.f = f.data();
    a.eatom = eatom.data();
    a.vatom = vatom.data();
  }
};

// What a step leaves in the engine's arrays.
struct Engine {
  mlff::StepTotals totals;
  std::vector<double> f, eatom, vatom;
};

// The staged step on the same arrays, newton on: every node row is added.
Engine host_step(mlff::ModelRunner& runner, const PeriodicBenzene& s, bool ghost_nodes) {
  mlff::StagedStep step(runner, {0, 6, 1}, 5.0);
  Engine out;
  const mlff::HostArrays a =
      s.host_arrays(out.f, out.eatom, out.vatom, ghost_nodes ? s.nall : s.nlocal);
  out.totals = step.compute(a, ghost_nodes, true, 6);
  step.add_to_engine(a, ghost_nodes ? s.nall : s.nlocal);
  return out;
}

// f must throw mlff::Error whose message contains text.
template <class F>
void expect_error(F&& f, const std::string& text) {
  try {
    f();
    FAIL() << "expected an error saying: " << text;
  } catch (const mlff::Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

std::string model_path(const std::string& name) {
  return std::string(MLFF_TEST_MODELS) + "/" + name;
}

mlff::RunnerOptions on_cpu() {
  mlff::RunnerOptions options;
  options.device = mlff::Device::CPU;
  return options;
}

}  // namespace

TEST(DeviceStep, MatchesTheHostStepWithGhostsFolded) {
  mlff::ModelRunner runner(model_path("seedarch_427k_float64.pt"), on_cpu());
  PeriodicBenzene s;
  const Engine ref = host_step(runner, s, false);

  mlff::DeviceStep step(runner, {0, 6, 1}, 5.0);
  std::vector<double> f, eatom, vatom;
  const mlff::DeviceArrays a = s.arrays(f, eatom, vatom, s.nlocal);
  const mlff::StepTotals totals = step.compute(a, false, true, 6);
  step.add_to_engine(a, s.nlocal);
  EXPECT_NEAR(totals.energy, ref.totals.energy, 1e-10 * std::abs(ref.totals.energy));
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(totals.virial[k], ref.totals.virial[k], 1e-9);
  for (int k = 0; k < 3 * s.nall; ++k) EXPECT_NEAR(f[k], ref.f[k], 1e-10) << k;
  for (int k = 0; k < 6 * s.nall; ++k) EXPECT_NEAR(vatom[k], ref.vatom[k], 1e-10) << k;
  for (int i = 0; i < s.nall; ++i) EXPECT_NEAR(eatom[i], ref.eatom[i], 1e-10) << i;
  double sum = 0;
  for (int i = 0; i < s.nlocal; ++i) sum += eatom[i];
  EXPECT_NEAR(sum, ref.totals.energy, 1e-9);
  for (int k = 3 * s.nlocal; k < 3 * s.nall; ++k) EXPECT_EQ(f[k], 0.0);
  // The periodic images are real neighbors: more edges than the isolated molecule's 132.
  EXPECT_GT(step.num_edges(), 132);
}

TEST(DeviceStep, MatchesTheHostStepWithGhostNodes) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float64.pt"), on_cpu());
  PeriodicBenzene s;
  const Engine ref = host_step(runner, s, true);

  mlff::DeviceStep step(runner, {0, 6, 1}, 5.0);
  std::vector<double> f, eatom, vatom;
  const mlff::DeviceArrays a = s.arrays(f, eatom, vatom, s.nall);
  const mlff::StepTotals totals = step.compute(a, true, true, 6);
  // Rows through the host and back, as a reverse communication would take them.
  std::vector<double> rows, virial_rows;
  step.download_rows(a, rows, virial_rows);
  ASSERT_EQ(rows.size(), ref.f.size());
  for (std::size_t k = 0; k < rows.size(); ++k) EXPECT_NEAR(rows[k], ref.f[k], 1e-10);
  for (double& v : rows) v *= 2.0;
  step.upload_rows(a, rows, virial_rows);
  step.add_to_engine(a, s.nall);
  EXPECT_NEAR(totals.energy, ref.totals.energy, 1e-10 * std::abs(ref.totals.energy));
  for (int k = 0; k < 3 * s.nall; ++k) EXPECT_NEAR(f[k], 2.0 * ref.f[k], 2e-10) << k;
  for (int k = 0; k < 6 * s.nall; ++k) EXPECT_NEAR(vatom[k], ref.vatom[k], 1e-10) << k;
}

TEST(StagedStep, RowsGoOutAndComeBackForAReverseCommunication) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float64.pt"), on_cpu());
  PeriodicBenzene s;
  const Engine ref = host_step(runner, s, true);
  mlff::StagedStep step(runner, {0, 6, 1}, 5.0);
  std::vector<double> f, eatom, vatom, rows, virial_rows;
  const mlff::HostArrays a = s.host_arrays(f, eatom, vatom, s.nall);
  step.compute(a, true, true, 6);
  step.download_rows(a, rows, virial_rows);
  ASSERT_EQ(rows.size(), 3u * s.nall);
  ASSERT_EQ(virial_rows.size(), 6u * s.nall);
  for (double& v : rows) v *= 2.0;
  step.upload_rows(a, rows, virial_rows);
  step.add_to_engine(a, s.nall);
  for (int k = 0; k < 3 * s.nall; ++k) EXPECT_EQ(f[k], 2.0 * ref.f[k]) << k;
}

TEST(DeviceStep, NullTypesAndBadInputs) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float64.pt"), on_cpu());
  PeriodicBenzene s;
  std::vector<double> f, eatom, vatom;

  // Hydrogens (type 2) as NULL: only carbon edges remain, 6 x 5 within the molecule at most.
  mlff::DeviceStep carbon_only(runner, {0, 6, 0}, 5.0);
  const mlff::DeviceArrays a = s.arrays(f, eatom, vatom, s.nlocal);
  carbon_only.compute(a, false, true, 0);
  carbon_only.add_to_engine(a, s.nlocal);
  for (int i = 6; i < 12; ++i) EXPECT_EQ(f[3 * i], 0.0);
  EXPECT_GT(carbon_only.num_edges(), 30);
  EXPECT_LT(carbon_only.num_edges(), 6 * 17);

  mlff::DeviceStep step(runner, {0, 6, 1}, 5.0);
  PeriodicBenzene orphan;
  orphan.tag[20] = 99;  // a ghost whose ID no owned atom has
  expect_error([&] { step.compute(orphan.arrays(f, eatom, vatom, orphan.nlocal), false, true, 0); },
               "ghost atom 99 has no owned image");
  PeriodicBenzene broken;
  broken.x[3 * 4 + 1] = std::numeric_limits<double>::quiet_NaN();
  for (int i = 0; i < broken.nall; ++i) broken.tag[i] += 100;  // IDs are not indices
  expect_error([&] { step.compute(broken.arrays(f, eatom, vatom, broken.nlocal), false, true, 0); },
               "non-finite position (NaN or inf) of atom 105:");
}

TEST(StagedStep, BadInputsNameAtomIds) {
  mlff::ModelRunner runner(model_path("seedarch_77k_float64.pt"), on_cpu());
  mlff::StagedStep step(runner, {0, 6, 1}, 5.0, 0.5);
  std::vector<double> f, eatom, vatom;
  PeriodicBenzene orphan;
  orphan.tag[20] = 99;
  expect_error(
      [&] { step.compute(orphan.host_arrays(f, eatom, vatom, orphan.nlocal), false, true, 0); },
      "ghost atom 99 has no owned image");
  PeriodicBenzene close;
  for (int a = 0; a < 3; ++a) close.x[3 * 7 + a] = close.x[3 * 1 + a] + (a == 0 ? 0.1 : 0.0);
  for (int i = 0; i < close.nall; ++i) close.tag[i] += 100;  // IDs are not indices
  try {
    step.compute(close.host_arrays(f, eatom, vatom, close.nlocal), false, true, 0);
    FAIL() << "expected an error";
  } catch (const mlff::CloseAtoms& e) {
    EXPECT_EQ(std::min(e.first, e.second), 102);
    EXPECT_EQ(std::max(e.first, e.second), 108);
  }
  PeriodicBenzene broken;
  broken.x[3 * 4 + 1] = std::numeric_limits<double>::infinity();
  for (int i = 0; i < broken.nall; ++i) broken.tag[i] += 100;
  expect_error(
      [&] { step.compute(broken.host_arrays(f, eatom, vatom, broken.nlocal), false, true, 0); },
      "non-finite position (NaN or inf) of atom 105:");
}

// A lone atom (no edges) through an AOTI package, which was exported with larger examples.
TEST(DeviceStep, LoneAtomThroughAnAotiPackage) {
  mlff::ModelRunner aoti(model_path("seedarch_77k_cpu_fp32.pt2"), on_cpu());
  mlff::ModelRunner script(model_path("seedarch_77k_float64.pt"), on_cpu());
  const double x[3] = {0.0, 0.0, 0.0};
  const int type = 1, tag = 1, center = 0, count = 0, neighbors = 0;
  double energies[2];
  for (mlff::ModelRunner* runner : {&aoti, &script}) {
    mlff::DeviceStep step(*runner, {0, 6}, 5.0);
    mlff::DeviceArrays a;
    a.atoms.x = x;
    a.atoms.type = &type;
    a.tag = &tag;
    a.atoms.nlocal = a.atoms.nall = 1;
    a.neighbors.centers = &center;
    a.neighbors.num_centers = 1;
    a.neighbors.num_neighbors = &count;
    a.neighbors.table = &neighbors;
    a.neighbors.rows = a.neighbors.cols = 1;
    a.neighbors.row_stride = 1;
    double f[3] = {0, 0, 0};
    a.f = f;
    energies[runner == &aoti ? 0 : 1] = step.compute(a, false, true, 0).energy;
    step.add_to_engine(a, 1);
    EXPECT_EQ(f[0], 0.0);
  }
  EXPECT_NEAR(energies[0], energies[1], 1e-4);
}
