// MLFF-Distiller's own trained 427K model, exported by the test set-up from the ONNX file in
// $MLFF_SEED_DIR: the runner reproduces its known energy of benzene. Skipped without MLFF_SEED_DIR.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "benzene.h"
#include "graph/force_scatter.h"
#include "model/model_runner.h"

namespace {

class SeedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* seed = std::getenv("MLFF_SEED_DIR");
    if (seed == nullptr || *seed == '\0') GTEST_SKIP() << "MLFF_SEED_DIR is not set";
  }

  static std::string path(const std::string& name) {
    return std::string(MLFF_SEED_MODELS) + "/" + name;
  }
};

// MLFF-Distiller's value for its 427K model at ASE's benzene geometry.
constexpr double kBenzeneEnergy = -76.053278;

}  // namespace

TEST_F(SeedModel, BenzeneEnergyIsTheKnownOne) {
  for (const char* file : {"student_427k_float32.pt", "student_427k_float64.pt"}) {
    mlff::ModelRunner runner(path(file));
    mlff::EdgeGraph g = mlff_test::benzene();
    mlff::ModelOutput out;
    runner.run(g, out);
    EXPECT_NEAR(mlff::ForceScatter::energy(g, out.node_energy), kBenzeneEnergy, 2e-4) << file;
  }
}

TEST_F(SeedModel, Float64PrecisionRunsAFloat32File) {
  mlff::RunnerOptions options;
  options.device = mlff::Device::CPU;
  options.precision = mlff::Precision::FP64;
  mlff::ModelRunner runner(path("student_427k_float32.pt"), options);
  mlff::EdgeGraph g = mlff_test::benzene();
  mlff::ModelOutput out;
  runner.run(g, out);
  EXPECT_NEAR(mlff::ForceScatter::energy(g, out.node_energy), kBenzeneEnergy, 2e-6);
}
