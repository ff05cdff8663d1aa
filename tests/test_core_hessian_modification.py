"""taylornet.core: Cholesky with added multiple of the identity (N&W Alg. 3.3).

Reference: the eigenvalues from ``numpy.linalg.eigvalsh`` (H + tau I is positive
definite exactly when tau > -lambda_min) and the algorithm's own sequence of tau.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from taylornet import core


@pytest.mark.parametrize("backend", BACKENDS)
def test_positive_definite_needs_no_shift(backend, rng):
    a = rng.standard_normal((6, 6))
    H = to_backend(backend, a @ a.T + 6 * np.eye(6))
    mod = core.cholesky_with_added_identity(H)
    assert mod.tau == 0.0
    np.testing.assert_allclose(to_numpy(mod.L @ mod.L.T), to_numpy(H), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50, 50).filter(lambda v: abs(v) > 1e-2), min_size=2, max_size=6),
       st.integers(0, 2**31 - 1))
def test_shift_makes_positive_definite_and_is_the_first_of_the_sequence(eigs, seed):
    eigs = np.array(eigs)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigs), len(eigs))))
    H = (Q * eigs) @ Q.T
    H = 0.5 * (H + H.T)
    beta = 1e-3
    mod = core.cholesky_with_added_identity(H, beta=beta)
    lam_min = np.linalg.eigvalsh(H).min()
    assert lam_min + mod.tau > 0
    # the previous tau of the sequence would not have been enough (or tau is the start)
    min_diag = np.diag(H).min()
    tau0 = 0.0 if min_diag > 0 else -min_diag + beta
    assert mod.tau >= tau0
    if mod.tau > max(tau0, beta):
        assert lam_min + mod.tau / 2 <= 1e-8 * max(1.0, np.abs(eigs).max())
    assert core.modified_cholesky_shift(H, beta=beta) == mod.tau


def test_indefinite_and_failures():
    H = np.diag([1.0, -4.0])
    assert not core.is_positive_definite(H)
    tau = core.modified_cholesky_shift(H)
    assert core.is_positive_definite(H + tau * np.eye(2)) and tau > 4
    with pytest.raises(ValueError, match="not positive definite"):
        core.cholesky_with_added_identity(np.array([[1.0, np.nan], [np.nan, 1.0]]), max_tries=4)
    with pytest.raises(ValueError, match="square"):
        core.cholesky_with_added_identity(np.ones((2, 3)))
    with pytest.raises(TypeError, match="float16"):
        core.cholesky_with_added_identity(torch.eye(2, dtype=torch.float16))


def test_public_name_of_the_newton_method_is_the_core_rule():
    from taylornet.solvers.methods.newton import modified_cholesky_shift

    assert modified_cholesky_shift is core.modified_cholesky_shift
