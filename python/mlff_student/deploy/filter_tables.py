"""Tables of the message filters, for the fused message kernels (message_kernels.py).

The filter of interaction l, phi_l(d) = rbf_to_scalar(gaussians(d) * envelope(d)) [* envelope(d)],
depends on the edge length d only. It is tabulated once, in float64, at `knots + 1` points on
[0, cutoff] with its derivative, and read back by cubic Hermite interpolation: with 2048 knots
the table differs from the float64 filter by far less than float32 rounding (see
`table_error`). Each edge then costs two table rows and the gathers of its source node's
features instead of two GEMMs and a dozen [E, 3H] intermediates.

Only torch is needed here, so that the tables can be made and checked where Triton is not
installed.
"""

from __future__ import annotations

import torch

from ..model.student import StudentForceField

DEFAULT_KNOTS = 2048


def filter_values(model: StudentForceField, d: torch.Tensor) -> list[torch.Tensor]:
    """phi_l(d) for every interaction l, exactly as the model computes it: [len(d), 3H] each."""
    rbf, envelope = model.rbf.basis(d)
    return [block.message.filter(rbf, envelope) for block in model.interactions]


def _exact_filters(ref: StudentForceField, d: torch.Tensor):
    """Every interaction's filter values and slopes d(phi)/dd at d (forward mode: the filter
    acts on each d alone)."""
    with torch.no_grad():
        return torch.func.jvp(lambda x: tuple(filter_values(ref, x)), (d,), (torch.ones_like(d),))


def tabulate(model: StudentForceField, knots: int = DEFAULT_KNOTS) -> list[torch.Tensor]:
    """Per interaction, a float32 table [knots, 4, 3H]: on each interval [k h, (k + 1) h] of
    [0, cutoff] the coefficients (a, b, c, d) of the cubic Hermite interpolant
    a + b t + c t^2 + d t^3, t in [0, 1], of the filter's values and slopes at the two ends.
    Computed in float64, so that the slope (b + 2 c t + 3 d t^2) / h does not lose digits to
    differences of rounded values. (float16 tables were measured slower on an H100, and less
    accurate: the kernels are not bound by the table reads alone.)"""
    ref = _float64_copy(model)
    h = ref.cutoff / knots
    d = torch.linspace(0.0, ref.cutoff, knots + 1, dtype=torch.float64)
    tables = []
    for y, dy in zip(*_exact_filters(ref, d), strict=True):
        y0, y1, m0, m1 = y[:-1], y[1:], dy[:-1] * h, dy[1:] * h
        coefficients = [y0, m0, 3 * (y1 - y0) - 2 * m0 - m1, 2 * (y0 - y1) + m0 + m1]
        tables.append(torch.stack(coefficients, dim=1).to(torch.float32).contiguous())
    return tables


def table_error(model: StudentForceField, knots: int = DEFAULT_KNOTS, samples: int = 20000):
    """Largest |interpolated - exact| of filter and slope over random d in [0, cutoff], relative
    to the largest |filter| and |slope|, against the float64 filter."""
    ref = _float64_copy(model)
    tables = [t.double() for t in tabulate(model, knots)]
    d = torch.rand(samples, dtype=torch.float64) * ref.cutoff
    worst_value = worst_slope = 0.0
    for table, y, dy in zip(tables, *_exact_filters(ref, d), strict=True):
        value, deriv = _interpolate(table, d, ref.cutoff / knots)
        worst_value = max(worst_value, ((value - y).abs().max() / y.abs().max()).item())
        worst_slope = max(worst_slope, ((deriv - dy).abs().max() / dy.abs().max()).item())
    return worst_value, worst_slope


def _float64_copy(model: StudentForceField) -> StudentForceField:
    ref = StudentForceField(model.config).double()
    ref.load_state_dict(model.state_dict())
    return ref.eval()


def _interpolate(table: torch.Tensor, d: torch.Tensor, h: float):
    """The kernels' interpolation, in torch (for table_error)."""
    knots = table.shape[0]
    x = (d / h).clamp(max=float(knots))
    i = x.long().clamp(max=knots - 1)
    t = (x - i).unsqueeze(-1)
    a, b, c, e = table[i, 0], table[i, 1], table[i, 2], table[i, 3]
    slope = torch.where(x.unsqueeze(-1) < knots, (b + t * (2 * c + 3 * t * e)) / h, 0.0)
    return a + t * (b + t * (c + t * e)), slope
