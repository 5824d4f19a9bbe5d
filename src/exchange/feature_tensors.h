#pragma once

// Feature rows (feature_rows.h) in device memory as LibTorch tensors, for the core's own
// sources: the headers adapters include stay free of LibTorch.

#include <ATen/ATen.h>

#include "exchange/feature_rows.h"

namespace mlff {

// [count][width] 8-byte words, moved bit for bit, on CUDA device index (-1: the current one).
inline at::Tensor device_words(const FeatureRows& rows, at::DeviceIndex index = -1) {
  return at::from_blob(rows.data, {rows.count, rows.width},
                       at::TensorOptions().dtype(at::kDouble).device(at::kCUDA, index));
}

// The values the words hold: floats (two to a word) where single, else doubles.
inline at::Tensor device_values(const FeatureRows& rows, at::DeviceIndex index = -1) {
  return device_words(rows, index).view(rows.single ? at::kFloat : at::kDouble);
}

}  // namespace mlff
