#include "graph/node_rows.h"

namespace mlff {

int NodeRows::pack(int first, int n, double* buf) const {
  int m = 0;
  for (int i = first; i < first + n; i++) {
    for (int a = 0; a < 3; a++) buf[m++] = force[3 * i + a];
    for (int k = 0; k < virial_width; k++) buf[m++] = virial[virial_width * i + k];
  }
  return m;
}

void NodeRows::add(const int* list, int n, const double* buf) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    const int j = list[i];
    for (int a = 0; a < 3; a++) force[3 * j + a] += buf[m++];
    for (int k = 0; k < virial_width; k++) virial[virial_width * j + k] += buf[m++];
  }
}

}  // namespace mlff
