#pragma once

// Folding ghosts onto the atoms they image, for both steps. Internal to the core: it includes
// LibTorch.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "graph/atom_ids.h"

namespace mlff {

// The engine's atom IDs [n] as an int64 tensor with options `on` (the memory they lie in).
at::Tensor id_tensor(const AtomIds& ids, std::int64_t n, const at::TensorOptions& on);

// On one rank every ghost is a periodic image of an owned atom: the owned atom of every atom
// (itself for owned ones), found by ID among the owned IDs sorted, so that memory follows the
// atom count, not the largest ID. tag: int64 [nall], owned atoms first, on any device. Throws
// mlff::Error naming a ghost that has no owned image.
at::Tensor owned_image_of(const at::Tensor& tag, std::int64_t nlocal);

}  // namespace mlff
