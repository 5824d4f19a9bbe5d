#pragma once

#include <vector>

#include "exchange/feature_rows.h"

namespace mlff {

// Where an engine atom lives: the rank that owns it and its index there.
struct AtomOwner {
  int rank = 0;
  int index = 0;
};

// How one rank of several exchanges node features with the others between the model's
// interactions. The rank's graph has a node for every engine atom (owned atoms first, then one
// cutoff of ghosts) and edges into owned atoms only, so after an interaction a ghost's features
// lack the messages of its own neighbors. The model file's exchange entry (doc/model_format.md)
// calls refresh_ghosts before every interaction but the first, and fold_ghosts in the backward
// pass, in the same order on every rank: all three calls are collective, so a rank without atoms
// takes part too (with no rows). The width is the same on every rank and in every call.
class ExchangeTransport {
 public:
  virtual ~ExchangeTransport() = default;

  // Whether plan needs owners (one more engine communication at every rebuild of the ghosts).
  virtual bool needs_owners() const = 0;
  // At every rebuild of the ghosts: nlocal owned rows, and where needs_owners() the owner of
  // each of the engine's atoms, owned atoms first (owners[i] = {this rank, i} for those).
  virtual void plan(int nlocal, const std::vector<AtomOwner>& owners) = 0;
  // Forward: every ghost row becomes a copy of its owner's row.
  virtual void refresh_ghosts(const FeatureRows& rows) = 0;
  // Reverse: every ghost row is added to its owner's row (the caller zeroes ghost rows after).
  virtual void fold_ghosts(const FeatureRows& rows) = 0;

  int owned_rows() const { return owned_rows_; }

 protected:
  int owned_rows_ = 0;
};

}  // namespace mlff
