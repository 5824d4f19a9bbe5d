#pragma once

#include <mpi.h>

#include <string>

#include "exchange/choice.h"
#include "model/model_runner.h"

namespace mlff {

// What the style's keywords set (pair_style mlff/student [device cuda|cpu]
// [precision fp64|fp32|tf32|fp16|bf16] [cuda_graph auto|yes|no] [min_distance <A>]
// [deterministic yes|no] [ghosts auto|exchange|deep] [exchange_comm auto|lammps|direct|nccl]).
struct StyleOptions {
  // Atoms closer than this (Å) stop the run: no model is trained on overlapping atoms. Shorter
  // than any bond (H2: 0.74 Å) and than any contact thermal motion reaches.
  static constexpr double kDefaultMinDistance = 0.5;

  RunnerOptions runner;
  double min_distance = kDefaultMinDistance;
  GhostMode ghosts = GhostMode::Auto;
  Transport transport = Transport::Auto;

  // One keyword and its value (nullptr: none was given); throws mlff::Error naming what is
  // wrong.
  void set(const std::string& key, const char* value);
  // For an engine whose atoms lie in one memory (Kokkos): the model runs there, on the current
  // GPU. Throws mlff::Error where the keywords asked otherwise.
  void pin_device(Device here);
};

// This rank's index among the ranks of its node: ranks on a node take its GPUs in turn.
int node_rank(MPI_Comm world);

}  // namespace mlff
