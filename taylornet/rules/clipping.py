"""Gradient clipping by the global 2-norm."""

from __future__ import annotations

from .._array import namespace, norm


def clip_grad_norm(g, max_norm):
    r"""Rescale ``g`` so that :math:`\|g\|_2 \le` ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\bigl(1, \tau / \|g\|_2\bigr)

    (Pascanu et al. 2013). Unchanged when already within the ball; the clipped
    vector has norm exactly ``max_norm``. ``torch.nn.utils.clip_grad_norm_``
    divides by ``||g|| + 1e-6`` instead, so its clipped norm is a hair smaller.
    """
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm: max_norm must be >= 0 (got {max_norm!r})")
    xp = namespace(g)
    g_norm = norm(xp, g)
    if max_norm == 0:
        return g * 0
    # max_norm / max(||g||, max_norm) is 1 inside the ball and tau/||g|| outside;
    # it never divides by zero and needs no host-device synchronisation.
    tau = xp.asarray(max_norm, dtype=g_norm.dtype, device=getattr(g_norm, "device", None))
    scale = max_norm / xp.maximum(g_norm, tau)
    return g * scale
