r"""The first trial step of a line search (N&W section 3.5, "Initial step length").

Newton and quasi-Newton directions are well scaled and try :math:`\alpha_0 = 1`
(N&W section 3.5); these two rules cover the directions that are not.
"""

from __future__ import annotations

import math


def first_trial_step(g_norm) -> float:
    r"""Trial step along :math:`p = -g` with no curvature information yet:

    .. math:: \alpha_0 = \min\bigl(1,\ 1 / \|g\|_2\bigr),

    so that the first trial moves :math:`\|\alpha_0 p\|_2 = \min(\|g\|_2, 1)`:
    a unit step in :math:`x`, whatever the units of :math:`f`. The Euclidean
    norm is the norm of the step itself (the 1-norm of ``torch.optim.LBFGS``
    shrinks the trial by up to :math:`\sqrt n`); it is the first step of
    L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995: ``stp = min(1/||d||_2, stpmx)``)
    and, through N&W (3.61) with :math:`f_{-1} = f_0 + \|g\|/2`, of
    ``scipy.optimize``'s BFGS and CG. ``g_norm`` is :math:`\|g\|_2` (a number or
    a 0-d array); ``g = 0`` gives 1.
    """
    g_norm = float(g_norm)
    if not g_norm >= 0:
        raise ValueError(f"first_trial_step: need ||g|| >= 0 (got {g_norm!r})")
    return min(1.0, 1.0 / g_norm) if g_norm > 0 else 1.0


def slope_ratio_step(previous_step_slope, slope) -> float:
    r"""N&W (3.60), capped at 1: first-order change equal to the last step's,

    .. math:: \alpha_0 = \min\Bigl(1,\ \frac{\alpha_{k-1}\, \nabla f_{k-1}^\top p_{k-1}}
                                          {\nabla f_k^\top p_k}\Bigr).

    ``previous_step_slope`` is :math:`\alpha_{k-1} \nabla f_{k-1}^\top p_{k-1}`
    and ``slope`` is :math:`\nabla f_k^\top p_k`, both negative (descent); a
    previous change that underflowed to zero gives 1.
    """
    previous_step_slope, slope = float(previous_step_slope), float(slope)
    if not (slope < 0 and previous_step_slope <= 0 and math.isfinite(previous_step_slope)):
        raise ValueError("slope_ratio_step: need negative slopes (descent directions), got "
                         f"{previous_step_slope!r} and {slope!r}")
    ratio = previous_step_slope / slope
    return min(1.0, ratio) if ratio > 0 else 1.0
