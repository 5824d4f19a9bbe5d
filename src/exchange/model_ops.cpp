#include "exchange/model_ops.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <tuple>
#include <vector>

#include "model/contract.h"

namespace mlff {

namespace {

// Not thread-local: LibTorch's autograd runs the backward of CUDA tensors on a thread of its own.
std::atomic<ExchangeTransport*> active_exchange{nullptr};

using Rows = std::tuple<at::Tensor, at::Tensor>;

// s [N, H] and v [N, 3, H] as one [N, 4H] tensor on their device, exchanged, and back in the
// shapes and dtypes they came in. Float64 features travel as doubles; others (float32, or half
// precision under autocast) exactly as float32, two to a word, padded to whole words.
Rows exchange_rows(const at::Tensor& s, const at::Tensor& v, bool forward) {
  ExchangeTransport* exchange = active_exchange.load();
  if (!exchange) return {s.clone(), v.clone()};
  const bool single = s.scalar_type() != at::kDouble;
  const at::ScalarType dtype = single ? at::kFloat : at::kDouble;
  const std::int64_t nodes = std::max<std::int64_t>(s.size(0), 1);
  const std::int64_t s_values = s.numel() / nodes, values = s_values + v.numel() / nodes;
  std::vector<at::Tensor> parts{s.flatten(1).to(dtype), v.flatten(1).to(dtype)};
  if (single && values % 2 == 1) parts.push_back(at::zeros({s.size(0), 1}, parts[0].options()));
  at::Tensor rows = at::cat(parts, 1);
  const int width = static_cast<int>(single ? rows.size(1) / 2 : rows.size(1));
  const FeatureRows view{rows.data_ptr(), rows.size(0), width, single, rows.is_cuda()};
  if (forward) {
    exchange->refresh_ghosts(view);
  } else {
    exchange->fold_ghosts(view);
    // Ghost rows were overwritten on the way forward: their inputs had no effect.
    const std::int64_t owned = exchange->owned_rows();
    rows.narrow(0, owned, rows.size(0) - owned).zero_();
  }
  auto part = [&](std::int64_t first, std::int64_t count, const at::Tensor& like) {
    return rows.narrow(1, first, count).reshape(like.sizes()).to(like.scalar_type()).contiguous();
  };
  return {part(0, s_values, s), part(s_values, values - s_values, v)};
}

Rows ghost_features(const at::Tensor& s, const at::Tensor& v) {
  return exchange_rows(s, v, true);
}

Rows ghost_gradients(const at::Tensor& grad_s, const at::Tensor& grad_v) {
  return exchange_rows(grad_s, grad_v, false);
}

Rows call(const char* name, const at::Tensor& a, const at::Tensor& b) {
  return c10::Dispatcher::singleton()
      .findSchemaOrThrow(name, "")
      .typed<Rows(const at::Tensor&, const at::Tensor&)>()
      .call(a, b);
}

// TorchScript files differentiate at run time: the backward of ghost_features is ghost_gradients.
class GhostFeaturesFunction : public torch::autograd::Function<GhostFeaturesFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& s, const at::Tensor& v) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    auto [s_out, v_out] = call(contract::kGhostFeaturesOp, s, v);
    ctx->saved_data["options"] = at::empty({0}, s.options());  // dtype and device, no data
    ctx->saved_data["s_shape"] = s.sizes().vec();
    ctx->saved_data["v_shape"] = v.sizes().vec();
    return {s_out, v_out};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    // An output the energy does not depend on has no gradient: zeros, so that every rank still
    // takes part in the reverse communication.
    const at::TensorOptions options = ctx->saved_data["options"].toTensor().options();
    if (!grads[0].defined())
      grads[0] = at::zeros(ctx->saved_data["s_shape"].toIntVector(), options);
    if (!grads[1].defined())
      grads[1] = at::zeros(ctx->saved_data["v_shape"].toIntVector(), options);
    auto [grad_s, grad_v] = call(contract::kGhostGradientsOp, grads[0], grads[1]);
    return {grad_s, grad_v};
  }
};

Rows ghost_features_autograd(const at::Tensor& s, const at::Tensor& v) {
  const auto out = GhostFeaturesFunction::apply(s, v);
  return {out[0], out[1]};
}

}  // namespace

void register_ghost_exchange_ops() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Kept for the life of the process, as TORCH_LIBRARY's registrations are.
    auto* schemas = new torch::Library(torch::Library::FRAGMENT, "mlff_student", std::nullopt,
                                       __FILE__, __LINE__);
    auto defined = [](const char* name) {
      return c10::Dispatcher::singleton().findSchema({name, ""}).has_value();
    };
    if (!defined(contract::kGhostFeaturesOp))
      schemas->def("ghost_features(Tensor s, Tensor v) -> (Tensor, Tensor)");
    if (!defined(contract::kGhostGradientsOp))
      schemas->def("ghost_gradients(Tensor s, Tensor v) -> (Tensor, Tensor)");
    for (const c10::DispatchKey key : {c10::DispatchKey::CPU, c10::DispatchKey::CUDA}) {
      auto* kernels =
          new torch::Library(torch::Library::IMPL, "mlff_student", key, __FILE__, __LINE__);
      kernels->impl("ghost_features", TORCH_FN(ghost_features));
      kernels->impl("ghost_gradients", TORCH_FN(ghost_gradients));
    }
    auto* autograd = new torch::Library(torch::Library::IMPL, "mlff_student",
                                        c10::DispatchKey::Autograd, __FILE__, __LINE__);
    autograd->impl("ghost_features", TORCH_FN(ghost_features_autograd));
  });
}

ExchangeScope::ExchangeScope(ExchangeTransport* exchange)
    : previous_(active_exchange.exchange(exchange)) {}

ExchangeScope::~ExchangeScope() {
  active_exchange.store(previous_);
}

}  // namespace mlff
