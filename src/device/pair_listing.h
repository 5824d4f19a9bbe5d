#pragma once

// The ATen edge selection of the device step's eager path, and the candidate pairs of its CUDA
// graph (whose kernels select edges again at each replay). Internal to the core: it includes
// LibTorch.

#include <ATen/ATen.h>

#include "device/device_step.h"

namespace mlff {

// The neighbor list's pairs (center, neighbor) between atoms of non-NULL types, grouped by center
// in row order, with edge vectors x[neighbor] - x[center] and their squared lengths.
struct NeighborPairs {
  at::Tensor src_atom, dst_atom, edge_vec, length2, centers;
};

// The pairs of a padded neighbor table whose atoms both have z_atom > 0: those within the cutoff,
// or all of them. x [nall, 3] and z_atom [nall] lie where the table does. Throws
// mlff::NonFinitePosition (with the atom's index) on a non-finite position of a center.
NeighborPairs list_pairs(const NeighborTable& list, const at::Tensor& x, const at::Tensor& z_atom,
                         double cutoff, bool within_cutoff);

}  // namespace mlff
