#include "exchange/nccl_transport.h"

#include <algorithm>
#include <string>

#include "exchange/plan.h"
#include "util/error.h"

#ifdef MLFF_NCCL
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <nccl.h>

#include "exchange/feature_tensors.h"
#endif

namespace mlff {

// NCCL needs a GPU of its own for every rank: the ranks on a node use different GPUs.
bool NcclTransport::usable(MPI_Comm world, int gpu) {
  MPI_Comm node;
  int me = 0, node_ranks = 0;
  MPI_Comm_rank(world, &me);
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, me, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &node_ranks);
  const int mine = available() ? gpu : -1;
  std::vector<int> gpus(node_ranks);
  MPI_Allgather(&mine, 1, MPI_INT, gpus.data(), 1, MPI_INT, node);
  MPI_Comm_free(&node);
  std::sort(gpus.begin(), gpus.end());
  int ok = gpus.front() >= 0 && std::adjacent_find(gpus.begin(), gpus.end()) == gpus.end();
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, world);
  return all == 1;
}

#ifdef MLFF_NCCL

namespace {

void check(ncclResult_t result, const char* what) {
  if (result != ncclSuccess)
    throw Error(std::string("NCCL ") + what + " failed: " + ncclGetErrorString(result));
}

}  // namespace

// Index lists live on the GPU as one concatenation per direction; a peer's rows are a slice of it.
struct NcclTransport::State {
  ncclComm_t comm = nullptr;
  int device = 0;
  std::vector<int> ranks;
  std::vector<std::int64_t> send_offsets, recv_offsets;  // per peer, and the total at the end
  at::Tensor send_rows, recv_rows, image_rows, image_owners;

  // Each peer's slice of out goes to it, and its slice of in comes from it, as one group.
  void swap(const at::Tensor& out, const std::vector<std::int64_t>& out_offsets, at::Tensor& in,
            const std::vector<std::int64_t>& in_offsets) const {
    const std::int64_t row_bytes = out.size(1) * out.element_size();
    const cudaStream_t stream = at::cuda::getCurrentCUDAStream(device).stream();
    auto* out_bytes = static_cast<char*>(out.data_ptr());
    auto* in_bytes = static_cast<char*>(in.data_ptr());
    check(ncclGroupStart(), "group start");
    for (std::size_t p = 0; p < ranks.size(); ++p) {
      const std::int64_t n_out = out_offsets[p + 1] - out_offsets[p];
      const std::int64_t n_in = in_offsets[p + 1] - in_offsets[p];
      if (n_out > 0)
        check(ncclSend(out_bytes + out_offsets[p] * row_bytes, n_out * row_bytes, ncclChar,
                       ranks[p], comm, stream),
              "send");
      if (n_in > 0)
        check(ncclRecv(in_bytes + in_offsets[p] * row_bytes, n_in * row_bytes, ncclChar, ranks[p],
                       comm, stream),
              "receive");
    }
    check(ncclGroupEnd(), "group end");
  }
};

bool NcclTransport::available() {
  return true;
}

NcclTransport::NcclTransport(MPI_Comm world) : world_(world), state_(std::make_unique<State>()) {}

std::unique_ptr<NcclTransport> NcclTransport::create(MPI_Comm world, int cuda_device) {
  int me = 0, ranks = 1;
  MPI_Comm_rank(world, &me);
  MPI_Comm_size(world, &ranks);
  // The communicator's identity is made by one rank and handed to every other.
  ncclUniqueId id;
  int status = me == 0 ? static_cast<int>(ncclGetUniqueId(&id)) : 0;
  MPI_Bcast(&status, 1, MPI_INT, 0, world);
  check(static_cast<ncclResult_t>(status), "unique id");
  MPI_Bcast(id.internal, NCCL_UNIQUE_ID_BYTES, MPI_CHAR, 0, world);
  std::unique_ptr<NcclTransport> transport(new NcclTransport(world));
  State& s = *transport->state_;
  s.device = cuda_device >= 0 ? cuda_device : at::cuda::current_device();
  const c10::cuda::CUDAGuard guard(s.device);
  check(ncclCommInitRank(&s.comm, ranks, id, me), "communicator set-up");
  return transport;
}

NcclTransport::~NcclTransport() {
  if (state_ && state_->comm) ncclCommDestroy(state_->comm);
}

void NcclTransport::plan(int nlocal, const std::vector<AtomOwner>& owners) {
  owned_rows_ = nlocal;
  const ExchangePlan plan = plan_from_owners(owners, nlocal, world_);
  State& s = *state_;
  std::vector<std::int64_t> send, recv;
  s.ranks.clear();
  s.send_offsets.assign(1, 0);
  s.recv_offsets.assign(1, 0);
  for (const ExchangePlan::Peer& peer : plan.peers) {
    s.ranks.push_back(peer.rank);
    send.insert(send.end(), peer.send_rows.begin(), peer.send_rows.end());
    recv.insert(recv.end(), peer.recv_rows.begin(), peer.recv_rows.end());
    s.send_offsets.push_back(static_cast<std::int64_t>(send.size()));
    s.recv_offsets.push_back(static_cast<std::int64_t>(recv.size()));
  }
  const auto to_device = [&](const std::vector<std::int64_t>& rows) {
    return at::tensor(rows, at::kLong).to(at::Device(at::kCUDA, s.device));
  };
  s.send_rows = to_device(send);
  s.recv_rows = to_device(recv);
  s.image_rows = to_device({plan.image_rows.begin(), plan.image_rows.end()});
  s.image_owners = to_device({plan.image_owners.begin(), plan.image_owners.end()});
}

// Forward, every peer's send_rows go out and its recv_rows are overwritten; the fold sends the
// ghost rows back and adds them. A rank that holds no atom (no rows) has no peers: nobody asked it
// for rows, it asked nobody.
void NcclTransport::exchange(const FeatureRows& rows, bool forward) {
  if (rows.count == 0) return;
  const State& s = *state_;
  const c10::cuda::CUDAGuard guard(s.device);
  at::Tensor all = forward ? device_words(rows, s.device) : device_values(rows, s.device);
  const at::Tensor& out_rows = forward ? s.send_rows : s.recv_rows;
  const at::Tensor& in_rows = forward ? s.recv_rows : s.send_rows;
  const at::Tensor out = all.index_select(0, out_rows);
  at::Tensor in = at::empty({in_rows.size(0), all.size(1)}, all.options());
  s.swap(out, forward ? s.send_offsets : s.recv_offsets, in,
         forward ? s.recv_offsets : s.send_offsets);
  if (forward) {
    all.index_copy_(0, in_rows, in);
    if (s.image_rows.numel() > 0)
      all.index_copy_(0, s.image_rows, all.index_select(0, s.image_owners));
  } else {
    all.index_add_(0, in_rows, in);
    if (s.image_rows.numel() > 0)
      all.index_add_(0, s.image_owners, all.index_select(0, s.image_rows));
  }
}

#else

struct NcclTransport::State {};

bool NcclTransport::available() {
  return false;
}

NcclTransport::NcclTransport(MPI_Comm world) : world_(world) {}

std::unique_ptr<NcclTransport> NcclTransport::create(MPI_Comm, int) {
  throw Error("this build of mlff-student has no NCCL");
}

NcclTransport::~NcclTransport() = default;
void NcclTransport::plan(int nlocal, const std::vector<AtomOwner>&) {
  owned_rows_ = nlocal;
}
void NcclTransport::exchange(const FeatureRows&, bool) {}

#endif

}  // namespace mlff
