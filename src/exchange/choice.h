#pragma once

#include <string>

namespace mlff {

// How ghost atoms enter a rank's graph (pair_style keyword ghosts): folded onto the atoms they
// image (one rank); as nodes whose features are exchanged with their owners before every
// interaction, with one cutoff of ghosts; or as nodes num_interactions cutoffs deep with edges of
// their own, no exchange.
enum class GhostMode { Auto, Fold, Exchange, Deep };
// How exchanged rows travel (keyword exchange_comm): swap by swap through the engine's
// communication (lammps); straight from the owning rank over MPI (direct); between GPUs over
// NCCL (nccl).
enum class Transport { Auto, Lammps, Mpi, Nccl };

GhostMode parse_ghost_mode(const std::string& value);  // auto, exchange, deep; throws mlff::Error
Transport parse_transport(const std::string& value);   // auto, lammps, direct, nccl

// The plain facts the choice depends on, the same on every rank.
struct ExchangeFacts {
  GhostMode ghosts_asked = GhostMode::Auto;
  Transport transport_asked = Transport::Auto;
  int ranks = 1;
  std::string model_name;           // for messages
  bool model_has_exchange = false;  // the file has its exchange entry
  bool rows_on_gpu = false;         // the model's feature rows lie in GPU memory
  bool nccl_built = false;
  bool nccl_usable = false;            // NcclTransport::usable (asked only for transport auto)
  bool engine_comm_on_device = false;  // the engine communicates in GPU memory (GPU-aware MPI)
};

struct ExchangeChoice {
  GhostMode ghosts = GhostMode::Fold;  // Fold, Exchange or Deep
  Transport transport = Transport::Lammps;
  // Said once by the engine: auto took the deep shell because the file has no exchange entry
  // (a warning), or because rows would travel between GPUs through host memory (a note).
  enum class Note { None, NoExchangeEntry, RowsThroughHost } note = Note::None;

  bool ghost_nodes() const { return ghosts != GhostMode::Fold; }
  bool exchanges() const { return ghosts == GhostMode::Exchange; }
};

// auto: one rank folds; several exchange, except where the file has no exchange entry or a GPU's
// rows would go through host memory at every exchange, where the deep shell measured faster
// (bench/notes). The transport's auto is NCCL where every rank has a GPU of its own, else the
// engine's swaps. Throws mlff::Error for a choice that cannot be honoured.
ExchangeChoice choose_exchange(const ExchangeFacts& facts);

// What the engine says of a note: model names the file, receptive_field its reach in Å.
std::string explain(ExchangeChoice::Note note, const std::string& model, double receptive_field);

// The log's description of a transport ("directly between GPUs over NCCL", ...).
std::string describe(Transport transport);

}  // namespace mlff
