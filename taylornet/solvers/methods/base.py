"""What a method is: a small description plugged into the one driver loop.

Two globalisation strategies cover every method (optimistix's "search +
descent" split):

* :class:`LineSearchMethod` proposes a direction ``p`` (and a first trial step
  ``alpha0``); the driver chooses ``alpha`` by the method's ``search``
  (``"fixed"``, ``"armijo"`` or ``"wolfe"``), then hands the curvature pair
  ``s = x_new - x``, ``y = g_new - g`` back through :meth:`update`.
* :class:`ModelMethod` proposes a step that minimises a local model inside a
  region controlled by one parameter (a trust-region radius, or a
  Levenberg-Marquardt damping); the driver computes the reduction ratio
  ``rho = actual / predicted`` (N&W eq. 4.4) and asks the method to adjust
  the parameter.
"""

from __future__ import annotations

from ..objective import Objective


class LineSearchMethod:
    """Base class: direction + line search."""

    search = "wolfe"  # "fixed" | "armijo" | "wolfe"
    c2 = 0.9  # strong-Wolfe curvature constant (N&W 3.7b)
    needs: tuple[str, ...] = ()  # subset of ("hess", "hessp", "third")
    objective = Objective  # what ``fun`` returns: a scalar, or residuals (LeastSquaresObjective)

    def __init__(self, obj, x0, **options):
        _reject_unknown(type(self), options)
        self.obj = obj

    def direction(self, x, f, g):
        """The search direction ``p`` at ``x``."""
        raise NotImplementedError

    def initial_step(self, k, g, p) -> float:
        """First trial step length of iteration ``k`` (N&W section 3.5)."""
        return 1.0

    def update(self, s, y, g_new) -> None:
        """Absorb an accepted step (curvature pair ``s, y``)."""

    def reset(self) -> None:
        """Forget curvature information (restart from steepest descent)."""

    def result_fields(self) -> dict:
        """Extra entries of the :class:`OptimizeResult` (e.g. ``hess_inv``)."""
        return {}


class ModelMethod:
    """Base class: model minimiser inside a region with an adaptive parameter."""

    needs: tuple[str, ...] = ()
    objective = Objective
    update_on_reject = False  # SR1 updates B also from rejected steps (N&W Alg. 6.2)

    def __init__(self, obj, x0, **options):
        _reject_unknown(type(self), options)
        self.obj = obj

    def initial_parameter(self, g) -> float:
        raise NotImplementedError

    def step(self, x, f, g, param):
        """Return ``(p, predicted_reduction)`` with ``predicted = m(0) - m(p) > 0``."""
        raise NotImplementedError

    def update_parameter(self, param, rho, p) -> float:
        raise NotImplementedError

    def parameter_exhausted(self, param) -> bool:
        """True when the region can shrink no more (the run then stops)."""
        return False

    def update(self, s, y, g_new) -> None:
        """Absorb a step's curvature pair (accepted, or any with ``update_on_reject``)."""

    def result_fields(self) -> dict:
        """Extra entries of the :class:`OptimizeResult`."""
        return {}


def _reject_unknown(cls, options):
    if options:
        raise TypeError(f"unknown option(s) for {cls.__name__}: {', '.join(sorted(options))}")
