#pragma once

#include <cstdint>

namespace mlff {

// Node feature rows of an exchange, one per engine atom (owned atoms first, then ghosts):
// [count][width] 8-byte words, what an engine's communication buffers of doubles hold, in host
// memory or, when on_device, in the model's CUDA device memory. A word is one double, or with
// single two float32 values: runs in float32 or less exchange their features exactly in half
// the bytes.
struct FeatureRows {
  void* data = nullptr;
  std::int64_t count = 0;
  int width = 0;
  bool single = false;
  bool on_device = false;
};

// Rows to and from an engine's host communication buffers, wherever they lie: from device memory
// only the rows named move, [n][width] words each way; add_to_rows adds values (floats where
// single).
void gather_rows(const FeatureRows& rows, const int* list, int n, double* out);  // out = rows[list]
void add_to_rows(const FeatureRows& rows, const int* list, int n,
                 const double* in);  // rows[list] += in
void copy_rows_out(const FeatureRows& rows, int first, int n,
                   double* out);  // out = rows[first, +n)
void copy_rows_in(const FeatureRows& rows, int first, int n,
                  const double* in);  // rows[first, +n) = in
void scatter_rows(const FeatureRows& rows, const int* list, int n,
                  const double* in);  // rows[list] = in

}  // namespace mlff
