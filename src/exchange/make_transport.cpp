#include "exchange/make_transport.h"

#include <utility>

#include "exchange/mpi_transport.h"
#include "exchange/nccl_transport.h"
#include "exchange/timed_transport.h"
#include "util/error.h"

namespace mlff {

namespace {

std::unique_ptr<ExchangeTransport> untimed(Transport kind, MPI_Comm world, int cuda_device,
                                           SwapTransport::Swaps swaps) {
  try {
    if (kind == Transport::Nccl) return NcclTransport::create(world, cuda_device);
  } catch (const std::exception& e) {
    throw Error(std::string("exchange_comm nccl: ") + e.what());
  }
  if (kind == Transport::Mpi) return std::make_unique<MpiTransport>(world);
  return std::make_unique<SwapTransport>(std::move(swaps));
}

}  // namespace

std::unique_ptr<ExchangeTransport> make_transport(Transport kind, MPI_Comm world, int cuda_device,
                                                  SwapTransport::Swaps swaps, StepProfile* profile,
                                                  std::function<void()> fence) {
  auto transport = untimed(kind, world, cuda_device, std::move(swaps));
  if (!profile) return transport;
  return std::make_unique<TimedTransport>(std::move(transport), *profile, world, std::move(fence));
}

}  // namespace mlff
