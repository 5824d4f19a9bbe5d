#include "exchange/plan.h"

#include <utility>

namespace mlff {

ExchangePlan plan_from_owners(const std::vector<AtomOwner>& owners, int nlocal, MPI_Comm world) {
  int me = 0, nprocs = 1;
  MPI_Comm_rank(world, &me);
  MPI_Comm_size(world, &nprocs);
  const int nall = static_cast<int>(owners.size());
  ExchangePlan plan;
  std::vector<int> asked_of(nprocs, 0);
  for (int i = nlocal; i < nall; i++) {
    if (owners[i].rank == me) {
      plan.image_rows.push_back(i);
      plan.image_owners.push_back(owners[i].index);
    } else {
      asked_of[owners[i].rank]++;
    }
  }
  std::vector<int> ask_start(nprocs + 1, 0);
  for (int r = 0; r < nprocs; r++) ask_start[r + 1] = ask_start[r] + asked_of[r];
  std::vector<int> asked_rows(ask_start[nprocs]), ghost_rows(ask_start[nprocs]);
  std::vector<int> fill(ask_start.begin(), ask_start.end() - 1);
  for (int i = nlocal; i < nall; i++) {
    const int owner = owners[i].rank;
    if (owner == me) continue;
    asked_rows[fill[owner]] = owners[i].index;
    ghost_rows[fill[owner]++] = i;
  }
  std::vector<int> asked_by(nprocs);
  MPI_Alltoall(asked_of.data(), 1, MPI_INT, asked_by.data(), 1, MPI_INT, world);
  std::vector<int> give_start(nprocs + 1, 0);
  for (int r = 0; r < nprocs; r++) give_start[r + 1] = give_start[r] + asked_by[r];
  std::vector<int> given_rows(give_start[nprocs]);
  MPI_Alltoallv(asked_rows.data(), asked_of.data(), ask_start.data(), MPI_INT, given_rows.data(),
                asked_by.data(), give_start.data(), MPI_INT, world);
  for (int r = 0; r < nprocs; r++) {
    if (asked_of[r] == 0 && asked_by[r] == 0) continue;
    ExchangePlan::Peer peer;
    peer.rank = r;
    peer.send_rows.assign(given_rows.begin() + give_start[r],
                          given_rows.begin() + give_start[r + 1]);
    peer.recv_rows.assign(ghost_rows.begin() + ask_start[r], ghost_rows.begin() + ask_start[r + 1]);
    plan.peers.push_back(std::move(peer));
  }
  return plan;
}

}  // namespace mlff
