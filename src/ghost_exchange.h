#pragma once

namespace mlff {

// How a model run on one rank of several reaches the other ranks between its interactions. The
// rank's graph has a node for every engine atom (owned atoms first, then one cutoff of ghosts)
// and edges into owned atoms only, so after an interaction a ghost's features lack the messages
// of its own neighbors. The model file's exchange entry (ghost_exchange=1) calls refresh_ghosts
// before every interaction but the first, and fold_ghosts in the backward pass, in the same order
// on every rank: both are collective, so a rank without atoms takes part too.
//
// rows: [nall][width] doubles, one row per engine atom, in host memory or, when on_device(), in
// the model's device memory; width is the same on every rank and in every call.
class GhostExchange {
 public:
  virtual ~GhostExchange() = default;
  virtual bool on_device() const = 0;
  virtual int owned_rows() const = 0;  // nlocal: the rows below are owned atoms'
  // Forward communication: every ghost row becomes a copy of its owner's row.
  virtual void refresh_ghosts(double* rows, int width) = 0;
  // Reverse communication: every ghost row is added to its owner's row (ghost rows are zeroed
  // afterwards by the caller).
  virtual void fold_ghosts(double* rows, int width) = 0;
};

}  // namespace mlff
