#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace mlff {

// Resizes a per-step buffer, growing its capacity geometrically so that a slowly growing system
// does not reallocate every step.
template <typename T>
void resize_buffer(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity()) v.reserve(std::max(n, 2 * v.capacity()));
  v.resize(n);
}

template <typename T>
void zero_buffer(std::vector<T>& v, std::size_t n) {
  resize_buffer(v, n);
  std::fill(v.begin(), v.end(), T{});
}

}  // namespace mlff
