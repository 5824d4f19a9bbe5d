#include <ATen/ATen.h>

#include <algorithm>

#include "ghost_exchange.h"

namespace mlff {

namespace {

at::Tensor device_rows(const FeatureRows& rows) {
  return at::from_blob(rows.data, {rows.count, rows.width},
                       at::TensorOptions().dtype(at::kDouble).device(at::kCUDA));
}

at::Tensor host_buffer(const double* data, int n, int width) {
  return at::from_blob(const_cast<double*>(data), {n, width}, at::kDouble);
}

at::Tensor device_index(const int* list, int n, const at::Device& device) {
  return at::from_blob(const_cast<int*>(list), {n}, at::kInt).to(device, at::kLong);
}

}  // namespace

// Copies from pageable host memory, and into it, are synchronous: LAMMPS may reuse its buffers
// as soon as these return.
void gather_rows(const FeatureRows& rows, const int* list, int n, double* out) {
  if (n == 0) return;
  const int w = rows.width;
  if (!rows.on_device) {
    for (int k = 0; k < n; ++k)
      std::copy_n(rows.data + static_cast<std::int64_t>(w) * list[k], w, out + std::int64_t(w) * k);
    return;
  }
  const at::Tensor all = device_rows(rows);
  host_buffer(out, n, w).copy_(all.index_select(0, device_index(list, n, all.device())));
}

void add_to_rows(const FeatureRows& rows, const int* list, int n, const double* in) {
  if (n == 0) return;
  const int w = rows.width;
  if (!rows.on_device) {
    for (int k = 0; k < n; ++k)
      for (int c = 0; c < w; ++c)
        rows.data[static_cast<std::int64_t>(w) * list[k] + c] += in[std::int64_t(w) * k + c];
    return;
  }
  at::Tensor all = device_rows(rows);
  all.index_add_(0, device_index(list, n, all.device()), host_buffer(in, n, w).to(all.device()));
}

void copy_rows_out(const FeatureRows& rows, int first, int n, double* out) {
  if (n == 0) return;
  const std::int64_t w = rows.width;
  if (!rows.on_device) {
    std::copy_n(rows.data + w * first, w * n, out);
    return;
  }
  host_buffer(out, n, rows.width).copy_(device_rows(rows).narrow(0, first, n));
}

void copy_rows_in(const FeatureRows& rows, int first, int n, const double* in) {
  if (n == 0) return;
  const std::int64_t w = rows.width;
  if (!rows.on_device) {
    std::copy_n(in, w * n, rows.data + w * first);
    return;
  }
  device_rows(rows).narrow(0, first, n).copy_(host_buffer(in, n, rows.width));
}

}  // namespace mlff
