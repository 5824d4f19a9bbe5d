#include "exchange/feature_rows.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

#include "exchange/feature_tensors.h"

namespace mlff {

namespace {

constexpr std::int64_t kWordBytes = 8;

at::Tensor host_words(const double* data, int n, int width) {
  return at::from_blob(const_cast<double*>(data), {n, width}, at::kDouble);
}

at::Tensor device_index(const int* list, int n, const at::Device& device) {
  return at::from_blob(const_cast<int*>(list), {n}, at::kInt).to(device, at::kLong);
}

std::uint8_t* row_bytes(const FeatureRows& rows, std::int64_t row) {
  return static_cast<std::uint8_t*>(rows.data) + row * rows.width * kWordBytes;
}

template <typename T>
void add_host_values(const FeatureRows& rows, const int* list, int n, const double* in) {
  const std::int64_t per_row = rows.width * kWordBytes / static_cast<std::int64_t>(sizeof(T));
  const T* from = reinterpret_cast<const T*>(in);
  for (int k = 0; k < n; ++k) {
    T* to = reinterpret_cast<T*>(row_bytes(rows, list[k]));
    for (std::int64_t c = 0; c < per_row; ++c) to[c] += from[k * per_row + c];
  }
}

}  // namespace

// Copies from pageable host memory, and into it, are synchronous: LAMMPS may reuse its buffers
// as soon as these return.
void gather_rows(const FeatureRows& rows, const int* list, int n, double* out) {
  if (n == 0) return;
  const std::int64_t bytes = rows.width * kWordBytes;
  if (!rows.on_device) {
    for (int k = 0; k < n; ++k)
      std::memcpy(reinterpret_cast<std::uint8_t*>(out) + k * bytes, row_bytes(rows, list[k]),
                  bytes);
    return;
  }
  const at::Tensor all = device_words(rows);
  host_words(out, n, rows.width).copy_(all.index_select(0, device_index(list, n, all.device())));
}

void add_to_rows(const FeatureRows& rows, const int* list, int n, const double* in) {
  if (n == 0) return;
  if (!rows.on_device) {
    if (rows.single)
      add_host_values<float>(rows, list, n, in);
    else
      add_host_values<double>(rows, list, n, in);
    return;
  }
  at::Tensor all = device_values(rows);
  const at::Tensor added = host_words(in, n, rows.width).to(all.device()).view(all.scalar_type());
  all.index_add_(0, device_index(list, n, all.device()), added);
}

void copy_rows_out(const FeatureRows& rows, int first, int n, double* out) {
  if (n == 0) return;
  if (!rows.on_device) {
    std::memcpy(out, row_bytes(rows, first), n * rows.width * kWordBytes);
    return;
  }
  host_words(out, n, rows.width).copy_(device_words(rows).narrow(0, first, n));
}

void copy_rows_in(const FeatureRows& rows, int first, int n, const double* in) {
  if (n == 0) return;
  if (!rows.on_device) {
    std::memcpy(row_bytes(rows, first), in, n * rows.width * kWordBytes);
    return;
  }
  device_words(rows).narrow(0, first, n).copy_(host_words(in, n, rows.width));
}

void scatter_rows(const FeatureRows& rows, const int* list, int n, const double* in) {
  if (n == 0) return;
  const std::int64_t bytes = rows.width * kWordBytes;
  if (!rows.on_device) {
    for (int k = 0; k < n; ++k)
      std::memcpy(row_bytes(rows, list[k]), reinterpret_cast<const std::uint8_t*>(in) + k * bytes,
                  bytes);
    return;
  }
  at::Tensor all = device_words(rows);
  all.index_copy_(0, device_index(list, n, all.device()),
                  host_words(in, n, rows.width).to(all.device()));
}

}  // namespace mlff
