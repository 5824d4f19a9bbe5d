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

// How a model run on one rank of several reaches the other ranks between its interactions. The
// rank's graph has a node for every engine atom (owned atoms first, then one cutoff of ghosts)
// and edges into owned atoms only, so after an interaction a ghost's features lack the messages
// of its own neighbors. The model file's exchange entry (ghost_exchange=1) calls refresh_ghosts
// before every interaction but the first, and fold_ghosts in the backward pass, in the same order
// on every rank: both are collective, so a rank without atoms takes part too (with no rows). The
// width is the same on every rank and in every call.
class GhostExchange {
 public:
  virtual ~GhostExchange() = default;
  virtual int owned_rows() const = 0;  // nlocal: the rows below are owned atoms'
  // Forward communication: every ghost row becomes a copy of its owner's row.
  virtual void refresh_ghosts(const FeatureRows& rows) = 0;
  // Reverse communication: every ghost row is added to its owner's row (ghost rows are zeroed
  // afterwards by the caller).
  virtual void fold_ghosts(const FeatureRows& rows) = 0;
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
