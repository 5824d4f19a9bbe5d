#include "graph/ghost_fold.h"

#include <ATen/ATen.h>

#include <string>

#include "util/error.h"

namespace mlff {

at::Tensor id_tensor(const AtomIds& ids, std::int64_t n, const at::TensorOptions& on) {
  const at::ScalarType stored = ids.wide() ? at::kLong : at::kInt;
  // An empty array may have no storage at all (a subdomain without atoms).
  if (n == 0) return at::empty({0}, on.dtype(at::kLong));
  return at::from_blob(const_cast<void*>(ids.data()), {n}, on.dtype(stored)).to(at::kLong);
}

at::Tensor owned_image_of(const at::Tensor& tag, std::int64_t nlocal) {
  const std::int64_t nall = tag.size(0);
  auto orphan = [&](std::int64_t id) {
    return Error("ghost atom " + std::to_string(id) + " has no owned image");
  };
  if (nlocal == 0) {
    if (nall > 0) throw orphan(tag[0].item<std::int64_t>());
    return at::empty({0}, tag.options());
  }
  const auto [owned_tags, owned_index] = tag.narrow(0, 0, nlocal).sort();
  const at::Tensor at_or_after = at::searchsorted(owned_tags, tag).clamp_max_(nlocal - 1);
  const at::Tensor found = owned_tags.index_select(0, at_or_after) == tag;
  const at::Tensor orphans = found.logical_not().nonzero();
  if (orphans.numel() > 0) throw orphan(tag[orphans[0][0]].item<std::int64_t>());
  return owned_index.index_select(0, at_or_after);
}

}  // namespace mlff
