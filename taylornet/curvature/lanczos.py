r"""Lanczos tridiagonalisation, Ritz values and stochastic Lanczos quadrature.

Everything here sees a symmetric :math:`H \in \mathbb{R}^{n \times n}` only
through a callable ``hvp: v -> H v`` (for a network's loss, a Hessian-vector
product, :func:`taylornet.autodiff.hvp`), and is written once against the
array API, so NumPy arrays and torch tensors (any device) both work.

* :func:`lanczos`: :math:`m` steps of the Lanczos recurrence,
  :math:`H Q_m = Q_m T_m + \beta_m q_{m+1} e_m^\top`, with full
  reorthogonalisation by default;
* :func:`lanczos_eigenvalues`: extreme eigenvalues of :math:`H` as Ritz
  values, the eigenvalues of the tridiagonal :math:`T_m`;
* :func:`spectral_density`, :func:`density_on_grid`: the eigenvalue density
  of :math:`H` by stochastic Lanczos quadrature (SLQ).

References: G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed.,
2013, sections 10.1-10.3 (the recurrence, convergence of extreme Ritz values,
loss of orthogonality and its cure); L. Lin, Y. Saad and C. Yang,
*Approximating spectral densities of large matrices*, SIAM Review 58 (2016)
(SLQ); B. Ghorbani, S. Krishnan and Y. Xiao, *An investigation into neural net
optimization via Hessian eigenvalue density*, ICML 2019 (SLQ for network
Hessians).
"""

from __future__ import annotations

import math
import operator

import numpy as np
from array_api_compat import device

from .._array import dot, namespace, norm
from ._probes import apply_hvp, as_like

__all__ = ["density_on_grid", "lanczos", "lanczos_eigenvalues", "spectral_density"]


def lanczos(hvp, dim, num_steps, v0=None, seed=None, reorthogonalize=True, *, like=None):
    r"""Run ``num_steps`` steps of the symmetric Lanczos process on ``hvp``.

    Starting from :math:`q_1 = v_0/\|v_0\|` and :math:`\beta_0 q_0 = 0`, step
    :math:`j = 1, \dots, m` computes

    .. math::
        w = H q_j - \beta_{j-1} q_{j-1}, \quad
        \alpha_j = q_j^\top w, \quad
        w \leftarrow w - \alpha_j q_j, \quad
        \beta_j = \|w\|, \quad q_{j+1} = w/\beta_j,

    (Golub & Van Loan, Algorithm 10.1.1). In exact arithmetic the columns of
    :math:`Q_m = [q_1, \dots, q_m]` are an orthonormal basis of the Krylov
    space :math:`\mathcal K_m(H, v_0)` and :math:`Q_m^\top H Q_m = T_m`, the
    symmetric tridiagonal matrix with diagonal :math:`\alpha_1..\alpha_m` and
    off-diagonal :math:`\beta_1..\beta_{m-1}`.

    In floating point the three-term recurrence loses orthogonality as soon
    as a Ritz value converges (Paige; Golub & Van Loan, section 10.3), and
    converged eigenvalues then reappear as spurious "ghost" copies in
    :math:`T_m`. With ``reorthogonalize=True`` (the default) every new
    :math:`w` is orthogonalised against all previous :math:`q_i` twice
    (classical Gram-Schmidt, "twice is enough"), which keeps
    :math:`\|Q_m^\top Q_m - I\|` at rounding level for :math:`O(n m^2)`
    extra work. ``reorthogonalize=False`` is the textbook recurrence, kept to
    show the ghosts.

    Parameters
    ----------
    hvp : callable ``v -> H v`` for symmetric ``H``; returns a 1-D array of
        ``v``'s kind and shape ``(dim,)``.
    dim : the dimension :math:`n`.
    num_steps : the number of steps :math:`m` (at most ``dim``; larger values
        are cut to ``dim``).
    v0 : starting vector (any nonzero 1-D array of length ``dim``; it is
        normalised). By default a standard normal vector drawn from
        ``numpy.random.default_rng(seed)``.
    seed : ``None``, an int or a ``numpy.random.Generator``, for ``v0``.
    reorthogonalize : full reorthogonalisation (see above).
    like : an array or tensor whose kind, dtype and device a generated ``v0``
        takes (e.g. ``like=theta`` for a torch ``hvp``); ignored when ``v0``
        is given.

    Returns
    -------
    alphas : NumPy float64 array of length :math:`k \le m`, the diagonal of
        :math:`T_k`.
    betas : NumPy float64 array of length :math:`k - 1`, its off-diagonal.
    Q : array of ``v0``'s kind, shape ``(dim, k)``, the Lanczos vectors as
        columns.

    The process stops early, with :math:`k < m`, when :math:`\beta_k` is at
    rounding level relative to the largest :math:`|\alpha_j|, \beta_j` seen:
    then :math:`\mathcal K_k` is an invariant subspace and the :math:`k`
    Ritz values are eigenvalues of :math:`H`. This is also why Lanczos sees
    each *distinct* eigenvalue once: a starting vector has one component in
    each eigenspace, so multiplicities are invisible.
    """
    func = "lanczos"
    dim, num_steps = operator.index(dim), operator.index(num_steps)
    if dim < 1:
        raise ValueError(f"{func}: dim must be >= 1 (got {dim})")
    if num_steps < 1:
        raise ValueError(f"{func}: num_steps must be >= 1 (got {num_steps})")
    num_steps = min(num_steps, dim)
    if v0 is None:
        v0 = as_like(np.random.default_rng(seed).standard_normal(dim), like)
    xp = namespace(v0)
    if tuple(v0.shape) != (dim,):
        raise ValueError(f"{func}: v0 has shape {tuple(v0.shape)}, expected ({dim},)")
    v0_norm = float(norm(xp, v0))
    if not math.isfinite(v0_norm) or v0_norm == 0:
        raise ValueError(f"{func}: v0 must be nonzero and finite")
    eps = float(xp.finfo(v0.dtype).eps)

    Q = xp.zeros((dim, num_steps), dtype=v0.dtype, device=device(v0))
    alphas, betas = [], []
    q = v0 / v0_norm
    q_prev, beta_prev, scale = None, 0.0, 0.0
    for j in range(num_steps):
        Q[:, j] = q
        w = apply_hvp(func, hvp, q, dim)
        if q_prev is not None:
            w = w - beta_prev * q_prev
        alpha = float(dot(xp, q, w))
        if not math.isfinite(alpha):
            raise ValueError(f"{func}: hvp returned non-finite values at step {j + 1}")
        w = w - alpha * q
        alphas.append(alpha)
        if reorthogonalize:
            basis = Q[:, : j + 1]
            for _ in range(2):  # classical Gram-Schmidt, twice is enough
                w = w - basis @ (basis.T @ w)
        beta = float(norm(xp, w))
        scale = max(scale, abs(alpha), beta)
        if j == num_steps - 1:
            break
        if beta <= dim * eps * scale:  # invariant subspace: T_j is exact
            Q = Q[:, : j + 1]
            break
        betas.append(beta)
        q_prev, beta_prev = q, beta
        q = w / beta
    return np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64), Q


def _tridiagonal(alphas, betas):
    """The symmetric tridiagonal matrix ``T`` as a dense NumPy array."""
    return np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)


def lanczos_eigenvalues(hvp, dim, k, which="both", num_steps=None, seed=None, *, like=None):
    r"""The ``k`` extreme eigenvalues of symmetric :math:`H`, as Lanczos Ritz values.

    Runs :func:`lanczos` (with full reorthogonalisation) and returns
    eigenvalues of the tridiagonal :math:`T_m` (``numpy.linalg.eigh``). By
    the Cauchy interlacing theorem the Ritz values lie inside
    :math:`[\lambda_{\min}(H), \lambda_{\max}(H)]`, and the extreme ones
    converge first, at a rate governed by the gap to the rest of the spectrum
    (Kaniel-Paige theory; Golub & Van Loan, section 10.1).

    Parameters
    ----------
    hvp, dim : as for :func:`lanczos`.
    k : how many eigenvalues from each requested end.
    which : ``"largest"``, ``"smallest"`` or ``"both"`` (the ``k`` smallest
        and the ``k`` largest).
    num_steps : Lanczos steps :math:`m`; by default ``min(dim, 2*k + 40)``.
        ``num_steps = dim`` gives all eigenvalues to rounding level (each
        distinct eigenvalue once).
    seed, like : for the random starting vector, as in :func:`lanczos`.

    Returns
    -------
    NumPy float64 array in ascending order: ``k`` values (``2k`` for
    ``"both"``), or all :math:`m` Ritz values when fewer are available.
    """
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"lanczos_eigenvalues: k must be >= 1 (got {k})")
    if which not in ("both", "largest", "smallest"):
        raise ValueError(
            f"lanczos_eigenvalues: which must be 'both', 'largest' or 'smallest' (got {which!r})"
        )
    if num_steps is None:
        num_steps = min(dim, 2 * k + 40)
    alphas, betas, _ = lanczos(hvp, dim, num_steps, seed=seed, like=like)
    ritz = np.linalg.eigvalsh(_tridiagonal(alphas, betas))  # ascending
    wanted = 2 * k if which == "both" else k
    if wanted >= ritz.size:
        return ritz
    if which == "largest":
        return ritz[-k:]
    if which == "smallest":
        return ritz[:k]
    return np.concatenate([ritz[:k], ritz[-k:]])


def spectral_density(hvp, dim, num_probes, num_steps, seed=None, *, like=None,
                     probes="rademacher"):
    r"""Stochastic Lanczos quadrature (SLQ) for the eigenvalue density of :math:`H`.

    The spectral density :math:`\phi(t) = \frac1n \sum_i \delta(t - \lambda_i)`
    is a probability measure with
    :math:`\int f\,d\phi = \frac1n \operatorname{tr} f(H)`. For a unit vector
    :math:`v`, :math:`v^\top f(H) v = \sum_i (v^\top u_i)^2 f(\lambda_i)`, and
    :math:`\mathbb E[(v^\top u_i)^2] = 1/n` for :math:`v = z/\|z\|` with
    Rademacher or Gaussian :math:`z`. The Gauss quadrature rule of the measure
    :math:`\sum_i (v^\top u_i)^2 \delta_{\lambda_i}` is read off the Lanczos
    matrix :math:`T_m = S\,\mathrm{diag}(\theta)\,S^\top` started at :math:`v`
    (Golub & Van Loan, section 10.2; Lin, Saad & Yang 2016):

    .. math::
        v^\top f(H) v \approx \sum_{k=1}^m \tau_k f(\theta_k), \qquad
        \tau_k = (e_1^\top s_k)^2 = S_{1k}^2,

    exact for polynomials :math:`f` of degree up to :math:`2m - 1`. The
    weights are the squared *first* components of :math:`T_m`'s eigenvectors
    (from ``eigh``, which returns them orthonormal), not the eigenvalues of
    anything, and sum to one. Averaging over probes gives SLQ's estimate of
    :math:`\phi` (Ghorbani, Krishnan & Xiao 2019, section 2).

    Parameters
    ----------
    hvp, dim : as for :func:`lanczos`.
    num_probes : number of random probes.
    num_steps : Lanczos steps per probe (with full reorthogonalisation).
    seed : ``None``, an int or a ``numpy.random.Generator``, for the probes.
    like : array or tensor whose kind, dtype and device the probes take.
    probes : ``"rademacher"`` (entries :math:`\pm 1`) or ``"gaussian"``;
        either way normalised to unit norm.

    Returns
    -------
    nodes, weights : NumPy float64 arrays of shape ``(num_probes, m)``: row
        ``p`` holds the Ritz values :math:`\theta_k` of probe ``p`` and their
        weights :math:`\tau_k`, which sum to one. If a probe's Lanczos process
        stops early (an invariant subspace), its row is padded with zero
        weights at its largest node. The density estimate is
        :math:`\frac1P\sum_{p,k} \tau_{pk}\,\delta_{\theta_{pk}}`; its mean,
        ``(nodes * weights).sum(1).mean()``, is the Hutchinson estimate of
        :math:`\operatorname{tr}(H)/n`. Smooth it with :func:`density_on_grid`.
    """
    func = "spectral_density"
    num_probes, num_steps = operator.index(num_probes), operator.index(num_steps)
    if num_probes < 1:
        raise ValueError(f"{func}: num_probes must be >= 1 (got {num_probes})")
    if probes not in ("rademacher", "gaussian"):
        raise ValueError(f"{func}: probes must be 'rademacher' or 'gaussian' (got {probes!r})")
    m = min(operator.index(num_steps), operator.index(dim))
    rng = np.random.default_rng(seed)
    nodes = np.zeros((num_probes, m))
    weights = np.zeros((num_probes, m))
    for p in range(num_probes):
        if probes == "rademacher":
            z = rng.choice((-1.0, 1.0), size=dim)
        else:
            z = rng.standard_normal(dim)
        v = as_like(z / np.linalg.norm(z), like)
        alphas, betas, _ = lanczos(hvp, dim, m, v0=v)
        theta, S = np.linalg.eigh(_tridiagonal(alphas, betas))
        k = theta.size
        nodes[p, :k], weights[p, :k] = theta, S[0, :] ** 2
        nodes[p, k:] = theta[-1]
    return nodes, weights


def density_on_grid(nodes, weights, grid, sigma):
    r"""The SLQ density smoothed by a Gaussian of width ``sigma``, on ``grid``.

    .. math::
        \hat\phi_\sigma(t) = \frac1P \sum_{p=1}^P \sum_k \tau_{pk}\,
        \frac{1}{\sqrt{2\pi}\sigma} e^{-(t - \theta_{pk})^2 / (2\sigma^2)}

    ``nodes`` and ``weights`` as returned by :func:`spectral_density` (a 1-D
    pair is one probe). Returns a NumPy array shaped like ``grid``; it
    integrates to one over the real line.
    """
    nodes = np.atleast_2d(np.asarray(nodes, dtype=np.float64))
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if nodes.shape != weights.shape:
        raise ValueError(f"density_on_grid: nodes {nodes.shape} and weights "
                         f"{weights.shape} differ in shape")
    if not sigma > 0:
        raise ValueError(f"density_on_grid: sigma must be > 0 (got {sigma!r})")
    grid = np.asarray(grid, dtype=np.float64)
    t = grid.reshape(-1, 1)
    kernel = np.exp(-0.5 * ((t - nodes.reshape(1, -1)) / sigma) ** 2)
    kernel /= math.sqrt(2.0 * math.pi) * sigma
    density = kernel @ weights.reshape(-1) / nodes.shape[0]
    return density.reshape(grid.shape)
