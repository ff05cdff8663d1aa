"""taylornet.optim.LBFGS against torch.optim.LBFGS, evaluation point by evaluation point.

On this problem the two take the same first step (``||g_0||_1 < 1``, so torch's
``min(1, 1/||g||_1)`` and the core's ``min(1, 1/||g||_2)`` are both 1) and
accept the same pairs, so every evaluation point agrees; the only difference
is that taylornet starts a ``step`` from the evaluation where the last one
ended, where torch calls the closure again at that same point.
"""

import pytest
import torch

from taylornet.optim import LBFGS


def logistic_problem(seed=0, n=120, d=6):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    y = (X @ w + 0.5 * torch.randn(n, generator=g, dtype=torch.float64) > 0).double()
    return X, y


def logistic_loss(w, b, X, y):
    """Convex: L2-regularised logistic regression."""
    logits = X @ w + b
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y) + 1e-2 * (w @ w)


def run(opt_cls, steps, **options):
    """Record every point where the closure is evaluated, and the step() return values."""
    X, y = logistic_problem()
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = opt_cls([w, b], **options)
    points = []
    torch_style = opt_cls is torch.optim.LBFGS

    def closure():
        points.append(torch.cat([w.detach().clone(), b.detach().reshape(1).clone()]))
        loss = logistic_loss(w, b, X, y)
        if torch_style:
            opt.zero_grad()
            loss.backward()
        return loss

    returned = [float(opt.step(closure).detach()) for _ in range(steps)]
    return torch.stack(points), returned, opt


def without_repeats(points):
    """The evaluation points with each immediate repeat of the previous point left out."""
    keep = [0] + [i for i in range(1, len(points)) if not torch.equal(points[i], points[i - 1])]
    return points[keep]


@pytest.mark.parametrize("history_size", [3, 10])
@pytest.mark.parametrize("max_iter", [1, 4, 20])
def test_matches_torch_lbfgs_strong_wolfe(history_size, max_iter):
    common = dict(history_size=history_size, max_iter=max_iter, line_search_fn="strong_wolfe")
    ref_points, ref_losses, ref = run(torch.optim.LBFGS, 6, **common)
    ref_evals = ref.state[ref._params[0]]["func_evals"]
    # without carrying evaluations over: the very same closure calls
    points, losses, opt = run(LBFGS, 6, reuse_evaluations=False, **common)
    assert points.shape == ref_points.shape
    torch.testing.assert_close(points, ref_points, rtol=0, atol=1e-10)
    assert losses == pytest.approx(ref_losses, rel=1e-12, abs=1e-14)
    assert opt.state["taylornet"]["n_function_evals"] == ref_evals
    # the default: torch's calls less its repeats at the point where a step ended
    points, losses, opt = run(LBFGS, 6, **common)
    distinct = without_repeats(ref_points)
    assert points.shape == distinct.shape
    torch.testing.assert_close(points, distinct, rtol=0, atol=1e-10)
    assert losses == pytest.approx(ref_losses, rel=1e-12, abs=1e-14)
    status = opt.state["taylornet"]
    assert status["n_function_evals"] == ref_evals - status["n_reused_evals"]
    assert status["n_reused_evals"] == len(ref_points) - len(distinct) > 0
    # and the problem is actually solved (not a trivial comparison)
    if max_iter == 20:
        assert losses[-1] < losses[0] - 0.1


def test_matches_torch_lbfgs_fixed_step():
    common = dict(history_size=5, max_iter=10, line_search_fn=None, lr=0.5)
    ref_points, _, _ = run(torch.optim.LBFGS, 3, **common)
    points, _, _ = run(LBFGS, 3, reuse_evaluations=False, **common)
    assert points.shape == ref_points.shape
    torch.testing.assert_close(points, ref_points, rtol=0, atol=1e-10)
    points, _, _ = run(LBFGS, 3, **common)
    distinct = without_repeats(ref_points)
    assert points.shape == distinct.shape
    torch.testing.assert_close(points, distinct, rtol=0, atol=1e-10)


def test_default_line_search_is_strong_wolfe_and_legacy_closure_works():
    """A torch.optim.LBFGS-style closure (zero_grad + backward) gives the same iterates."""
    X, y = logistic_problem()
    results = []
    for legacy in (False, True):
        w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = LBFGS([w, b])

        def closure(opt=opt, w=w, b=b, legacy=legacy):
            loss = logistic_loss(w, b, X, y)
            if legacy:
                opt.zero_grad()
                loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        results.append(torch.cat([w.detach(), b.detach().reshape(1)]))
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=1e-12)
    ref_points, _, _ = run(torch.optim.LBFGS, 2, line_search_fn="strong_wolfe")
    torch.testing.assert_close(results[0], ref_points[-1], rtol=0, atol=1e-10)


def test_several_groups_with_equal_options_equal_one_group():
    X, y = logistic_problem()
    finals = []
    for grouped in (False, True):
        w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        params = [{"params": [w]}, {"params": [b]}] if grouped else [w, b]
        opt = LBFGS(params, history_size=5)
        for _ in range(2):
            opt.step(lambda w=w, b=b: logistic_loss(w, b, X, y))
        finals.append(torch.cat([w.detach(), b.detach().reshape(1)]))
    torch.testing.assert_close(finals[0], finals[1], rtol=0, atol=0)


def test_groups_with_different_lr_are_refused():
    w = torch.zeros(3, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="'lr' differs between parameter groups"):
        LBFGS([{"params": [w]}, {"params": [b], "lr": 0.1}])
    opt = LBFGS([w])
    with pytest.raises(ValueError, match="'history_size' differs"):
        opt.add_param_group({"params": [b], "history_size": 3})


def test_state_dict_round_trip_continues_identically():
    X, y = logistic_problem()
    results = []
    for reload in (False, True):
        w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = LBFGS([w, b], max_iter=3, history_size=4)
        opt.step(lambda w=w, b=b: logistic_loss(w, b, X, y))
        if reload:
            state = opt.state_dict()
            opt = LBFGS([w, b], max_iter=3, history_size=4)
            opt.load_state_dict(state)
        opt.step(lambda w=w, b=b: logistic_loss(w, b, X, y))
        results.append(torch.cat([w.detach(), b.detach().reshape(1)]))
        assert opt.state["taylornet"]["n_steps"] == 2
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)
