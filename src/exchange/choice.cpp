#include "exchange/choice.h"

#include <sstream>

#include "util/error.h"

namespace mlff {

GhostMode parse_ghost_mode(const std::string& value) {
  if (value == "auto") return GhostMode::Auto;
  if (value == "exchange") return GhostMode::Exchange;
  if (value == "deep") return GhostMode::Deep;
  throw Error("ghosts must be auto, exchange or deep, not " + value);
}

Transport parse_transport(const std::string& value) {
  if (value == "auto") return Transport::Auto;
  if (value == "lammps") return Transport::Lammps;
  if (value == "direct") return Transport::Mpi;
  if (value == "nccl") return Transport::Nccl;
  throw Error("exchange_comm must be auto, lammps, direct or nccl, not " + value);
}

namespace {

Transport choose_transport(const ExchangeFacts& f) {
  if (f.transport_asked == Transport::Nccl) {
    if (!f.nccl_built)
      throw Error(
          "exchange_comm nccl, but this build has no NCCL (it is built in when CMake finds "
          "nccl.h and libnccl beside a CUDA LibTorch, or under NCCL_HOME): use exchange_comm "
          "lammps or direct");
    if (!f.rows_on_gpu)
      throw Error(
          "exchange_comm nccl moves rows between GPUs, but the model runs on the host: use "
          "exchange_comm lammps or direct");
    return Transport::Nccl;
  }
  if (f.transport_asked != Transport::Auto) return f.transport_asked;
  return f.ranks > 1 && f.nccl_usable ? Transport::Nccl : Transport::Lammps;
}

}  // namespace

ExchangeChoice choose_exchange(const ExchangeFacts& f) {
  if (f.ghosts_asked == GhostMode::Exchange && !f.model_has_exchange)
    throw Error(
        "ghosts exchange needs a model file with an exchange entry, which " + f.model_name +
        " predates: export or compile it again with python -m mlff_student (or use ghosts deep)");
  ExchangeChoice choice;
  choice.transport = choose_transport(f);
  const bool staged = f.rows_on_gpu && choice.transport != Transport::Nccl &&
                      !(choice.transport == Transport::Lammps && f.engine_comm_on_device);
  const bool auto_on_ranks = f.ghosts_asked == GhostMode::Auto && f.ranks > 1;
  if (f.ghosts_asked == GhostMode::Exchange || (auto_on_ranks && f.model_has_exchange && !staged))
    choice.ghosts = GhostMode::Exchange;
  else if (f.ghosts_asked == GhostMode::Deep || auto_on_ranks)
    choice.ghosts = GhostMode::Deep;
  if (auto_on_ranks && !f.model_has_exchange)
    choice.note = ExchangeChoice::Note::NoExchangeEntry;
  else if (auto_on_ranks && staged)
    choice.note = ExchangeChoice::Note::RowsThroughHost;
  return choice;
}

std::string explain(ExchangeChoice::Note note, const std::string& model, double receptive_field) {
  std::ostringstream reach;
  reach << receptive_field;
  if (note == ExchangeChoice::Note::NoExchangeEntry)
    return model + " has no exchange entry, so every rank computes the messages of ghosts " +
           reach.str() +
           " A deep: export or compile it again with python -m mlff_student for the faster "
           "layer-by-layer exchange";
  if (note == ExchangeChoice::Note::RowsThroughHost)
    return "ghost features would travel between GPUs through host memory (without NCCL, one GPU "
           "per rank, or GPU-aware MPI with the Kokkos style), which is slower than a deep ghost "
           "shell: ghosts deep ('ghosts exchange' asks for the exchange)";
  return "";
}

std::string describe(Transport transport) {
  if (transport == Transport::Nccl) return "directly between GPUs over NCCL";
  if (transport == Transport::Mpi) return "directly between ranks over MPI";
  return "through LAMMPS's communication";
}

}  // namespace mlff
