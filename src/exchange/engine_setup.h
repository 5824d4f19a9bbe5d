#pragma once

#include <mpi.h>

#include <string>

#include "exchange/choice.h"
#include "model/metadata.h"

namespace mlff {

// What an engine's set-up asks of the exchange, in the order it asks.

// The facts choose_exchange decides on for this run: rows_gpu is the GPU the feature rows lie on
// (-1: host memory). Collective where the transport is auto on several ranks.
ExchangeFacts gather_facts(GhostMode ghosts, Transport transport, const ModelMetadata& meta,
                           const std::string& model, MPI_Comm world, int rows_gpu,
                           bool engine_comm_on_device);

// The log's line for an exchange of `words` 8-byte words per atom.
std::string exchange_log_line(const ExchangeChoice& choice, const ModelMetadata& meta, int words,
                              bool float64);

// Why comm_style tiled cannot give the deep shell of `need` Å in a periodic box `length` Å long.
std::string deep_shell_refusal(const ModelMetadata& meta, double need, double length);

// With the deep shell every rank computes the messages of all its ghosts: when they far
// outnumber the owned atoms, fewer ranks would be faster, and on one rank folding the ghosts
// gives the same numbers for less. The warning, or empty. Collective.
std::string ghost_load_warning(MPI_Comm world, int nlocal, int nghost, double shell);

}  // namespace mlff
