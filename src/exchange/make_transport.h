#pragma once

#include <mpi.h>

#include <functional>
#include <memory>

#include "exchange/choice.h"
#include "exchange/swap_transport.h"
#include "util/step_profile.h"

namespace mlff {

// A transport of the kind chosen: over world for the direct ones (NCCL's for rows on CUDA device
// cuda_device, -1: the current one), through the engine's swaps otherwise; timed by a profile
// where one is given (fence: waits for the engine's device work). Collective for NCCL; throws
// mlff::Error.
std::unique_ptr<ExchangeTransport> make_transport(Transport kind, MPI_Comm world, int cuda_device,
                                                  SwapTransport::Swaps swaps, StepProfile* profile,
                                                  std::function<void()> fence);

}  // namespace mlff
