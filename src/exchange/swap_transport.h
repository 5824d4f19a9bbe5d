#pragma once

#include <functional>
#include <utility>

#include "exchange/transport.h"

namespace mlff {

// The engine's own communication, swap by swap through its ghost shells (LAMMPS's forward and
// reverse communication): the engine hands in the function that runs it over the rows.
class SwapTransport : public ExchangeTransport {
 public:
  using Swaps = std::function<void(const FeatureRows& rows, bool forward)>;
  explicit SwapTransport(Swaps swaps) : swaps_(std::move(swaps)) {}

  bool needs_owners() const override { return false; }
  void plan(int nlocal, const std::vector<AtomOwner>&) override { owned_rows_ = nlocal; }
  void refresh_ghosts(const FeatureRows& rows) override { swaps_(rows, true); }
  void fold_ghosts(const FeatureRows& rows) override { swaps_(rows, false); }

 private:
  Swaps swaps_;
};

}  // namespace mlff
