#pragma once

#include <vector>

namespace mlff {

// Node rows of forces [3 * nodes] and per-node virials [width * nodes] in host memory, through an
// engine's reverse communication of doubles: 3 + width per node.
struct NodeRows {
  std::vector<double> force, virial;
  int virial_width = 0;

  // Rows [first, first + n) into buf; the number of doubles written.
  int pack(int first, int n, double* buf) const;
  // buf added to the rows list[0, n): a received row may belong to a ghost that a later swap
  // sends on, so it is summed into the rows pack reads.
  void add(const int* list, int n, const double* buf);
};

}  // namespace mlff
