#pragma once

#include <mpi.h>

#include <functional>
#include <memory>
#include <utility>

#include "exchange/transport.h"
#include "util/step_profile.h"

namespace mlff {

// A transport whose exchanges a profile splits into waiting for the other ranks to reach them
// (their compute takes longer) and the communication itself. fence waits for the device work
// queued so far, so that each part is the time it takes.
class TimedTransport : public ExchangeTransport {
 public:
  TimedTransport(std::unique_ptr<ExchangeTransport> inner, StepProfile& profile, MPI_Comm world,
                 std::function<void()> fence)
      : inner_(std::move(inner)), profile_(profile), world_(world), fence_(std::move(fence)) {}

  bool needs_owners() const override { return inner_->needs_owners(); }
  void plan(int nlocal, const std::vector<AtomOwner>& owners) override {
    inner_->plan(nlocal, owners);
    owned_rows_ = inner_->owned_rows();
  }
  void refresh_ghosts(const FeatureRows& rows) override {
    timed([&] { inner_->refresh_ghosts(rows); });
  }
  void fold_ghosts(const FeatureRows& rows) override {
    timed([&] { inner_->fold_ghosts(rows); });
  }

 private:
  template <class Exchange>
  void timed(Exchange exchange) {
    fence_();
    const double start = MPI_Wtime();
    MPI_Barrier(world_);
    const double reached = MPI_Wtime();
    exchange();
    fence_();
    profile_.add_part("exchange: waiting", reached - start);
    profile_.add_part("exchange: communication", MPI_Wtime() - reached);
  }

  std::unique_ptr<ExchangeTransport> inner_;
  StepProfile& profile_;
  MPI_Comm world_;
  std::function<void()> fence_;
};

}  // namespace mlff
