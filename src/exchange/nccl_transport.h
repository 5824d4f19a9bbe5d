#pragma once

#include <mpi.h>

#include <memory>
#include <vector>

#include "exchange/transport.h"

namespace mlff {

// The direct exchange between GPUs through NCCL (point-to-point sends on the current CUDA stream,
// so the model's kernels around it need no synchronisation): one rank per GPU. Builds without
// NCCL make available() false and create throw.
class NcclTransport : public ExchangeTransport {
 public:
  static bool available();
  // Whether every rank has a GPU of its own (gpu: this rank's, or -1 where its rows are on the
  // host) and NCCL is built in. Collective.
  static bool usable(MPI_Comm world, int gpu);
  // Joins a communicator of every rank of world, for rows on CUDA device cuda_device (-1: the
  // current one). Collective; throws mlff::Error.
  static std::unique_ptr<NcclTransport> create(MPI_Comm world, int cuda_device);
  ~NcclTransport() override;
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;

  bool needs_owners() const override { return true; }
  void plan(int nlocal, const std::vector<AtomOwner>& owners) override;
  void refresh_ghosts(const FeatureRows& rows) override { exchange(rows, true); }
  void fold_ghosts(const FeatureRows& rows) override { exchange(rows, false); }

 private:
  explicit NcclTransport(MPI_Comm world);
  void exchange(const FeatureRows& rows, bool forward);
  struct State;
  MPI_Comm world_;
  std::unique_ptr<State> state_;
};

}  // namespace mlff
