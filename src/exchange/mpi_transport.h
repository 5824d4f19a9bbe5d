#pragma once

#include <mpi.h>

#include <vector>

#include "exchange/plan.h"
#include "exchange/transport.h"

namespace mlff {

// The direct exchange over MPI from host memory: rows go straight to and come straight from the
// ranks in the plan (from a GPU only the rows named move), in buffers reused between calls.
class MpiTransport : public ExchangeTransport {
 public:
  explicit MpiTransport(MPI_Comm world) : world_(world) {}

  bool needs_owners() const override { return true; }
  void plan(int nlocal, const std::vector<AtomOwner>& owners) override;
  void refresh_ghosts(const FeatureRows& rows) override { exchange(rows, true); }
  void fold_ghosts(const FeatureRows& rows) override { exchange(rows, false); }

 private:
  void exchange(const FeatureRows& rows, bool forward);

  MPI_Comm world_;
  ExchangePlan plan_;
  std::vector<double> out_, in_;
  std::vector<MPI_Request> requests_;
};

}  // namespace mlff
