#include "exchange/mpi_transport.h"

namespace mlff {

void MpiTransport::plan(int nlocal, const std::vector<AtomOwner>& owners) {
  owned_rows_ = nlocal;
  plan_ = plan_from_owners(owners, nlocal, world_);
}

void MpiTransport::exchange(const FeatureRows& rows, bool forward) {
  const int w = rows.width;
  // Forward, a peer's send_rows go out and its recv_rows come in; the fold runs the other way.
  const auto outgoing = [forward](const ExchangePlan::Peer& p) -> const std::vector<int>& {
    return forward ? p.send_rows : p.recv_rows;
  };
  const auto incoming = [forward](const ExchangePlan::Peer& p) -> const std::vector<int>& {
    return forward ? p.recv_rows : p.send_rows;
  };
  std::size_t out_rows = plan_.image_rows.size(), in_rows = 0;
  for (const auto& peer : plan_.peers) {
    out_rows += outgoing(peer).size();
    in_rows += incoming(peer).size();
  }
  out_.resize(out_rows * w);
  in_.resize(in_rows * w);
  requests_.clear();
  std::size_t out_at = 0, in_at = 0;
  for (const auto& peer : plan_.peers) {
    const std::vector<int>& list = incoming(peer);
    if (list.empty()) continue;
    requests_.emplace_back();
    MPI_Irecv(&in_[in_at * w], static_cast<int>(list.size()) * w, MPI_DOUBLE, peer.rank, 0, world_,
              &requests_.back());
    in_at += list.size();
  }
  for (const auto& peer : plan_.peers) {
    const std::vector<int>& list = outgoing(peer);
    if (list.empty()) continue;
    gather_rows(rows, list.data(), static_cast<int>(list.size()), &out_[out_at * w]);
    requests_.emplace_back();
    MPI_Isend(&out_[out_at * w], static_cast<int>(list.size()) * w, MPI_DOUBLE, peer.rank, 0,
              world_, &requests_.back());
    out_at += list.size();
  }
  // Periodic images of this rank's own atoms, while the messages travel.
  const auto& images = plan_.image_rows;
  const auto& owners = plan_.image_owners;
  const int n_images = static_cast<int>(images.size());
  double* image_buffer = out_.data() + out_at * w;
  gather_rows(rows, forward ? owners.data() : images.data(), n_images, image_buffer);
  if (forward)
    scatter_rows(rows, images.data(), n_images, image_buffer);
  else
    add_to_rows(rows, owners.data(), n_images, image_buffer);
  MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  in_at = 0;
  for (const auto& peer : plan_.peers) {
    const std::vector<int>& list = incoming(peer);
    const int n = static_cast<int>(list.size());
    if (forward)
      scatter_rows(rows, list.data(), n, &in_[in_at * w]);
    else
      add_to_rows(rows, list.data(), n, &in_[in_at * w]);
    in_at += list.size();
  }
}

}  // namespace mlff
