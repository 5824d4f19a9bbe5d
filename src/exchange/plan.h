#pragma once

#include <mpi.h>

#include <vector>

#include "exchange/transport.h"

namespace mlff {

// A direct exchange sends every ghost row straight from the rank that owns its atom (and, in the
// fold, straight back to it), instead of swap by swap through the engine's communication, where
// rows of ghosts of ghosts travel twice. The rows named here are engine atom indices (owned atoms
// first).
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

// Each rank asks every owner for the rows its ghosts copy (one all-to-all over world).
// Collective.
ExchangePlan plan_from_owners(const std::vector<AtomOwner>& owners, int nlocal, MPI_Comm world);

}  // namespace mlff
