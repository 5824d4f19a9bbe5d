#include "staged/input_staging.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

namespace mlff {

namespace {

std::size_t align(std::size_t bytes) {
  return (bytes + 63) & ~std::size_t(63);
}

template <typename T>
void stage_floats(const EdgeGraph& g, const InputLayout& in, double pad_length,
                  std::uint8_t* host) {
  const std::int64_t n = g.num_nodes(), e = g.num_edges();
  auto* vec = reinterpret_cast<T*>(host + in.vec);
#pragma omp parallel for schedule(static) if (e > 4096)
  for (std::int64_t k = 0; k < 3 * e; ++k) vec[k] = static_cast<T>(g.edge_vec[k]);
  for (std::int64_t k = e; k < in.edges; ++k) {
    vec[3 * k] = static_cast<T>(pad_length);
    vec[3 * k + 1] = vec[3 * k + 2] = T(0);
  }
  auto* mask = reinterpret_cast<T*>(host + in.mask);
  for (std::int64_t k = 0; k < n; ++k) mask[k] = static_cast<T>(g.energy_mask[k]);
  std::fill(mask + n, mask + in.nodes, T(0));
}

}  // namespace

InputLayout::InputLayout(std::int64_t nodes, std::int64_t edges, std::size_t float_size)
    : nodes(nodes), edges(edges), fsize(float_size) {
  src = align(8 * nodes);
  dst = src + align(8 * edges);
  vec = dst + align(8 * edges);
  mask = vec + align(3 * edges * fsize);
  total = mask + align(nodes * fsize);
}

void ensure_bytes(at::Tensor& buffer, std::size_t bytes, const at::TensorOptions& options) {
  if (buffer.defined() && static_cast<std::size_t>(buffer.numel()) >= bytes) return;
  const std::size_t old = buffer.defined() ? buffer.numel() : 0;
  buffer =
      at::empty({static_cast<std::int64_t>(std::max(bytes, 2 * old))}, options.dtype(at::kByte));
}

void stage_inputs(const EdgeGraph& g, const InputLayout& in, double pad_length,
                  std::uint8_t* host) {
  const std::int64_t n = g.num_nodes(), e = g.num_edges();
  auto* z = reinterpret_cast<std::int64_t*>(host);
  std::memcpy(z, g.z.data(), 8 * n);
  std::fill(z + n, z + in.nodes, 0);
  auto* src = reinterpret_cast<std::int64_t*>(host + in.src);
  auto* dst = reinterpret_cast<std::int64_t*>(host + in.dst);
  std::memcpy(src, g.src.data(), 8 * e);
  std::memcpy(dst, g.dst.data(), 8 * e);
  const std::int64_t pad_nodes = in.nodes - n;
  for (std::int64_t k = e; k < in.edges; ++k) src[k] = dst[k] = n + (k - e) % pad_nodes;
  if (in.fsize == 8)
    stage_floats<double>(g, in, pad_length, host);
  else
    stage_floats<float>(g, in, pad_length, host);
}

std::vector<at::Tensor> input_views(std::uint8_t* base, const InputLayout& in, at::Device where,
                                    at::ScalarType dtype) {
  auto view = [&](std::size_t offset, std::vector<std::int64_t> shape, at::ScalarType t) {
    return at::from_blob(base + offset, shape, at::TensorOptions().dtype(t).device(where));
  };
  return {view(0, {in.nodes}, at::kLong), view(in.src, {in.edges}, at::kLong),
          view(in.dst, {in.edges}, at::kLong), view(in.vec, {in.edges, 3}, dtype),
          view(in.mask, {in.nodes}, dtype)};
}

void pack_outputs(const std::vector<at::Tensor>& result, const InputLayout& in,
                  const at::Tensor& buffer) {
  at::Tensor all =
      at::from_blob(buffer.data_ptr(), {in.outputs()}, buffer.options().dtype(at::kDouble));
  all.narrow(0, 0, in.nodes).copy_(result[0].reshape({in.nodes}));
  all.narrow(0, in.nodes, 3 * in.edges).copy_(result[1].reshape({3 * in.edges}));
}

}  // namespace mlff
