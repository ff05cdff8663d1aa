"""``torch.optim`` optimizers on :mod:`taylornet.core`, :mod:`taylornet.rules` and
:mod:`taylornet.linesearch` (the numerics :func:`taylornet.minimize` uses too).

All are driven by ``loss = opt.step(closure)``. The closure may return the
loss *without* calling ``backward()`` (the optimizer differentiates it), or
follow ``torch.optim``: ``zero_grad(); loss.backward(); return loss`` for the
first-order methods, ``loss.backward(create_graph=True)`` for any of them.
A line search's last loss and gradient start the next ``step`` (no evaluation
is paid twice), and ``state_dict()`` / ``load_state_dict()`` continue a run
exactly. See :mod:`taylornet.optim._base` for the conventions, the handling
of non-finite values and the counters (``opt.state["taylornet"]``), and
:mod:`taylornet.optim._distributed` for
:class:`~torch.nn.parallel.DistributedDataParallel`.

==================  =====================================================
:class:`TaylorFlow`  gradient-flow Taylor series, orders 1-3 (per-group lr)
:class:`Newton`      damped Newton, dense Hessian (small models)
:class:`NewtonCG`    Hessian-free (Hessian or Gauss-Newton), Martens damping
:class:`BFGS`        dense inverse BFGS + strong Wolfe (small models)
:class:`LBFGS`       L-BFGS + strong Wolfe, keywords of torch.optim.LBFGS
:class:`NonlinearCG` PR+ (or FR, PR, HS) + strong Wolfe
==================  =====================================================
"""

from .._torch_quiet import load_forward_ad_quietly
from .bfgs import BFGS
from .lbfgs import LBFGS
from .newton import Newton
from .newton_cg import NewtonCG
from .nonlinear_cg import NonlinearCG
from .taylor_flow import TaylorFlow

load_forward_ad_quietly()

__all__ = ["BFGS", "LBFGS", "Newton", "NewtonCG", "NonlinearCG", "TaylorFlow"]
