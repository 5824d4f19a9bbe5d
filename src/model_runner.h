#pragma once

#include <memory>
#include <string>
#include <vector>

#include "edge_graph.h"
#include "model_metadata.h"

namespace mlff {

struct ModelOutput {
  std::vector<double> node_energy;  // [N] eV
  std::vector<double> edge_grad;    // [E * 3] dE/d(edge_vec), eV/Å, of the masked energy
};

// Loads an exported model (TorchScript with mlff_student metadata) and runs it on an EdgeGraph.
// LibTorch stays behind this interface so that engine adapters need not include it.
class ModelRunner {
 public:
  // Throws mlff::Error when the file is missing, unreadable or not an mlff_student model.
  explicit ModelRunner(const std::string& path);
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  const ModelMetadata& metadata() const;

  // Throws mlff::Error when the model returns non-finite values or misshaped outputs.
  void run(const EdgeGraph& graph, ModelOutput& out);

  static constexpr const char* kMetadataName = "mlff_student_metadata";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlff
