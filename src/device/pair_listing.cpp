#include "device/pair_listing.h"

#include <string>

#include "device/device_step_impl.h"
#include "util/error.h"

namespace mlff {

NeighborPairs list_pairs(const NeighborTable& list, const at::Tensor& x, const at::Tensor& z_atom,
                         double cutoff, bool within_cutoff) {
  const at::TensorOptions on = x.options();
  const at::TensorOptions as_long = on.dtype(at::kLong);
  NeighborPairs p;
  p.centers = view(list.centers, {list.num_centers}, at::kInt, on).to(at::kLong);
  const at::Tensor x_center = x.index_select(0, p.centers);
  // Centers of NULL types get no edges.
  const at::Tensor counts =
      view(list.num_neighbors, {list.rows}, at::kInt, on).index_select(0, p.centers).to(at::kLong) *
      (z_atom.index_select(0, p.centers) > 0);

  // The widest row and the non-finite positions reach the host together.
  const at::Tensor bad = at::isfinite(x_center).logical_not().any(1);
  const at::Tensor sizes =
      list.num_centers > 0 ? at::stack({counts.max(), bad.sum()}).cpu() : at::zeros({2}, at::kLong);
  const std::int64_t width = sizes[0].item<std::int64_t>();
  if (sizes[1].item<std::int64_t>() > 0) {
    const std::int64_t first = p.centers[bad.nonzero()[0][0]].item<std::int64_t>();
    throw NonFinitePosition(first);
  }
  if (width == 0) {
    p.src_atom = p.dst_atom = at::empty({0}, as_long);
    p.edge_vec = at::empty({0, 3}, on.dtype(at::kDouble));
    p.length2 = at::empty({0}, on.dtype(at::kDouble));
    return p;
  }
  // Candidates [centers, width]: padding slots (and pairs beyond the cutoff) are masked out, and
  // the kept ones, in row order, are grouped by center as in the neighbor list.
  const at::Tensor rows = at::from_blob(const_cast<int*>(list.table), {list.rows, list.cols},
                                        {list.row_stride, list.col_stride}, on.dtype(at::kInt))
                              .narrow(1, 0, width)
                              .index_select(0, p.centers);
  const at::Tensor slot = at::arange(width, as_long).unsqueeze(0) < counts.unsqueeze(1);
  const at::Tensor j = at::bitwise_and(rows, list.index_mask)
                           .to(at::kLong)
                           .masked_fill_(slot.logical_not(), 0)
                           .flatten();
  const at::Tensor d =
      (x.index_select(0, j).view({list.num_centers, width, 3}) - x_center.unsqueeze(1))
          .view({-1, 3});
  const at::Tensor d2 = d.square().sum(1);
  at::Tensor keep = slot.flatten() & (z_atom.index_select(0, j) > 0);
  if (within_cutoff) keep &= d2 <= cutoff * cutoff;
  const at::Tensor kept = keep.nonzero().squeeze(1);
  p.src_atom = j.index_select(0, kept);
  p.dst_atom = p.centers.index_select(0, at::div(kept, width, "floor"));
  p.length2 = d2.index_select(0, kept);
  p.edge_vec = d.index_select(0, kept);
  return p;
}

}  // namespace mlff
