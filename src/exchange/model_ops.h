#pragma once

// The operations a model file's exchange entry calls (torch.ops.mlff_student.ghost_features and
// ghost_gradients, python/mlff_student/model/ghost_exchange.py), with an engine's ExchangeTransport
// behind them. Internal to the core.

#include "exchange/transport.h"

namespace mlff {

// Registers the operations with LibTorch, once per process; a process whose Python defined them
// already (the lammps module next to mlff_student) gets this build's kernels for them.
void register_ghost_exchange_ops();

// While one exists, the operations reach the other ranks through `exchange`; without one they
// leave the rows as they are (a graph without ghosts).
class ExchangeScope {
 public:
  explicit ExchangeScope(ExchangeTransport* exchange);
  ~ExchangeScope();
  ExchangeScope(const ExchangeScope&) = delete;
  ExchangeScope& operator=(const ExchangeScope&) = delete;

 private:
  ExchangeTransport* previous_;
};

}  // namespace mlff
