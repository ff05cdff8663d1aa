"""taylornet.core: the forcing term (N&W 7.3) and the initial trial steps (N&W section 3.5).

References: the formulas evaluated by hand, and scipy's BFGS first trial, which through
N&W (3.61) is 1.01/||g||_2 times the steepest-descent direction.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from taylornet import core


@pytest.mark.parametrize("g_norm, eta", [(0.0, 0.0), (0.01, 0.1), (0.25, 0.5), (4.0, 0.5)])
def test_forcing_term(g_norm, eta):
    assert core.forcing_term(g_norm) == pytest.approx(eta)


def test_forcing_term_takes_0d_arrays_and_rejects_nan():
    assert core.forcing_term(torch.tensor(0.04)) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        core.forcing_term(math.nan)


def test_first_trial_step_is_a_unit_euclidean_move():
    g = np.array([3.0, 4.0, 0.0])
    alpha = core.first_trial_step(np.linalg.norm(g))
    assert np.linalg.norm(alpha * g) == pytest.approx(1.0)
    assert core.first_trial_step(0.5) == 1.0  # never longer than the gradient step
    assert core.first_trial_step(0.0) == 1.0
    with pytest.raises(ValueError):
        core.first_trial_step(-1.0)


def test_first_trial_step_matches_scipys_bfgs_start():
    """scipy's line search starts at min(1, 1.01 * 2 (f0 - f_{-1}) / phi'(0)) with
    f_{-1} = f0 + ||g||/2 (N&W 3.61): a Euclidean first step, like ours."""
    from scipy.optimize import minimize

    seen = []

    def fun(x):
        seen.append(np.array(x))
        return 0.5 * float(x @ x) * 7.0

    x0 = np.array([10.0, -20.0, 5.0])
    minimize(fun, x0, jac=lambda x: 7.0 * x, method="BFGS", options=dict(maxiter=1))
    g = 7.0 * x0
    first = seen[1] - x0  # the first trial point scipy evaluated
    alpha = core.first_trial_step(np.linalg.norm(g))
    np.testing.assert_allclose(first, -1.01 * alpha * g, rtol=1e-6)


def test_slope_ratio_step():
    # N&W (3.60): alpha_{k-1} g_{k-1}.p_{k-1} / g_k.p_k, capped at 1
    assert core.slope_ratio_step(-0.2, -0.8) == pytest.approx(0.25)
    assert core.slope_ratio_step(-5.0, -1.0) == 1.0
    assert core.slope_ratio_step(-0.0, -1.0) == 1.0
    with pytest.raises(ValueError):
        core.slope_ratio_step(-1.0, 0.5)
