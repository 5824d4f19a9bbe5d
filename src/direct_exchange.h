#pragma once

#include <memory>
#include <vector>

#include "ghost_exchange.h"

namespace mlff {

// A direct exchange sends every ghost row straight from the rank that owns its atom (and, in the
// fold, straight back to it), instead of swap by swap through the engine's communication, where
// rows of ghosts of ghosts travel twice. The engine works out who owns each ghost whenever it
// rebuilds its ghosts; the rows named here are engine atom indices (owned atoms first).
struct ExchangePlan {
  struct Peer {
    int rank = 0;
    std::vector<int> send_rows;  // owned rows the peer holds ghosts of, in the order it asked
    std::vector<int> recv_rows;  // ghost rows filled from the peer, in the same order
  };
  std::vector<Peer> peers;  // other ranks, each once
  // Ghosts that are periodic images of this rank's own atoms, and those atoms.
  std::vector<int> image_rows, image_owners;
};

// A direct exchange between GPUs through NCCL (point-to-point sends on the current CUDA stream,
// so the model's kernels around it need no synchronisation): one rank per GPU. Builds without
// NCCL make available() false and the constructor throw.
class NcclExchange {
 public:
  static bool available();
  // The communicator's identity: made by one rank, handed to every rank's constructor.
  static std::vector<char> unique_id();
  // Joins the communicator of ranks ranks as rank; the rows live on CUDA device cuda_device.
  NcclExchange(const std::vector<char>& id, int ranks, int rank, int cuda_device);
  ~NcclExchange();
  NcclExchange(const NcclExchange&) = delete;
  NcclExchange& operator=(const NcclExchange&) = delete;

  void set_plan(const ExchangePlan& plan);  // after every rebuild of the ghosts
  void refresh_ghosts(const FeatureRows& rows);
  void fold_ghosts(const FeatureRows& rows);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mlff
