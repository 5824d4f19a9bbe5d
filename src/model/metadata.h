#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/precision.h"

namespace mlff {

// What a model file says about itself ('key=value' lines written by python/mlff_student).
struct ModelMetadata {
  int format_version = 0;
  double cutoff = 0.0;       // Å; edges are pairs with |r| <= cutoff
  int num_interactions = 0;  // message-passing steps: the receptive field is this times cutoff
  int max_z = 0;             // largest atomic number the embedding table holds
  int exchange_values = 0;   // values per node in a ghost exchange (0 without the entry)
  // The file has an entry for one rank of several that exchanges ghost features layer by layer
  // (exchange/transport.h); files made before it have only the whole-graph entry.
  bool ghost_exchange = false;
  std::string dtype;   // "float32" or "float64": the dtype of edge vectors and outputs
  std::string format;  // "torchscript" or "aoti"
  Precision precision = Precision::FP32;  // what the file was built for
  std::string device;  // "any" (TorchScript), or the device an AOTI package was built for
  // Chemical symbols of the elements the model was trained on; empty where the file does not say
  // (files made before this was recorded, and the original checkpoints).
  std::vector<std::string> trained_elements;
  std::map<std::string, std::string> entries;

  // Parses and validates; throws mlff::Error naming the first problem.
  static ModelMetadata parse(const std::string& text);

  double receptive_field() const { return num_interactions * cutoff; }
  // 8-byte words per node in a ghost exchange: one value to a word for float64 runs, two float32
  // values otherwise (FeatureRows).
  int ghost_exchange_words(bool float64) const {
    return float64 ? exchange_values : (exchange_values + 1) / 2;
  }
};

}  // namespace mlff
