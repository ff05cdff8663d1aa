r"""Step acceptance and the radius update of N&W Algorithm 4.1."""

from __future__ import annotations

import math

ETA = 0.15  # default acceptance threshold eta in [0, 1/4) of N&W Alg. 4.1 (scipy's value)
MIN_RADIUS = 1e-14  # below this the region has collapsed: the model no longer predicts f


def accept_step(rho, eta=ETA):
    r"""Whether N&W Alg. 4.1 takes the step: :math:`\rho_k > \eta`, with :math:`\eta \in [0, 1/4)`.

    The default :math:`\eta = 0.15` is scipy's; ``eta = 0`` accepts any decrease.
    A NaN ``rho`` is rejected.
    """
    if not 0 <= eta < 0.25:
        raise ValueError(f"accept_step: eta must be in [0, 1/4) (got {eta!r})")
    return float(rho) > eta


def update_radius(
    radius, rho, step_norm, max_radius, eta1=0.25, eta2=0.75, boundary_rtol=1e-6
):
    r"""The radius update of N&W Alg. 4.1.

    .. math::
        \Delta_{k+1} = \begin{cases}
            \Delta_k / 4 & \rho_k < \eta_1 \\
            \min(2\Delta_k, \hat\Delta) & \rho_k > \eta_2 \text{ and } \|p_k\| = \Delta_k \\
            \Delta_k & \text{otherwise}
        \end{cases}

    with :math:`\eta_1 = 1/4`, :math:`\eta_2 = 3/4` and :math:`\hat\Delta` = ``max_radius``.
    The step counts as on the boundary when ``step_norm >= (1 - boundary_rtol) * radius``;
    the default ``1e-6`` leaves room for the round-off of float32 norms. A NaN
    ``rho`` shrinks the radius, as a rejected step should.
    """
    radius, max_radius, rho = float(radius), float(max_radius), float(rho)
    if not (math.isfinite(radius) and 0 < radius <= max_radius):
        raise ValueError(
            f"update_radius: need 0 < radius <= max_radius (got {radius!r}, {max_radius!r})"
        )
    if not 0 < eta1 <= eta2 < 1:
        raise ValueError(f"update_radius: need 0 < eta1 <= eta2 < 1 (got {eta1!r}, {eta2!r})")
    if math.isnan(rho) or rho < eta1:
        return radius / 4
    if rho > eta2 and float(step_norm) >= (1 - boundary_rtol) * radius:
        return min(2 * radius, max_radius)
    return radius


def radius_collapsed(radius, min_radius=MIN_RADIUS) -> bool:
    """True when the radius has shrunk below ``min_radius``: repeated rejections, the
    model no longer predicts the function at any representable step."""
    return float(radius) < min_radius
