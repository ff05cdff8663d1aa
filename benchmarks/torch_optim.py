"""taylornet on PyTorch: curvature products, L-BFGS and Newton-CG, side by side in one run.

Three measurements, each on one model, one batch and one device, with the
competitors timed in alternation (round robin, ``--repeat`` rounds, median)
so that a change of machine load hits all of them alike:

1. **HVP / gradient.** MLP 784-1024-1024-10 (tanh), batch 512, cross-entropy,
   float32. One gradient (``torch.autograd.grad`` of the loss) against one
   product with :class:`taylornet.curvature.HessianOperator` in both modes
   (double backward on the recorded gradient graph; jvp-of-grad), the double
   backward including the graph build ("from scratch": what a single product
   costs), and :class:`~taylornet.curvature.GaussNewtonOperator` (both modes).
   Target: HVP / gradient <= 2.5.
2. **L-BFGS.** ``taylornet.optim.LBFGS`` vs ``torch.optim.LBFGS`` on four
   models: the MLP above (batch 512, float32), a small CNN (two 3x3
   convolutions, tanh, 28x28 inputs, float32), multinomial logistic
   regression (784 inputs, 10 classes, L2 1e-3, float32) and a float64 MLP
   (64-128-128-1 tanh, mean squared error). Same data and initial weights,
   same options (``max_iter=20``, ``history_size=100``,
   ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``,
   ``line_search_fn="strong_wolfe"``), ``--lbfgs-steps`` calls of ``step``
   with one closure object: closure evaluations and time. Targets: no more
   evaluations, time ratio <= 1.0. Skipped (reported as not measured) when
   ``taylornet.optim`` cannot be imported.
2b. **Newton-CG's Hessian products** on the MLP of 1.:
   ``taylornet.optim.NewtonCG(curvature="hessian", cg_tol=0)`` steps with 5
   and 10 CG iterations; the difference of the two step times over 5 is the
   price of one CG iteration (one Hessian-vector product through the
   gradient graph recorded once per step, plus CG's vector work), in
   gradients. Target: <= 2.5.
3. **Newton-CG step / gradient** on an MLP 784-3072-3072-10 (11.9M
   parameters; ``--small``: 784-256-256-10): one gradient against one
   Newton-CG step: (a) ``taylornet.optim.NewtonCG.step`` (when importable)
   with Gauss-Newton curvature and ``max_cg_iters`` 5 and 10, and with the
   Hessian and 10; ``cg_tol=0`` so that CG does ``k`` iterations unless it
   meets negative curvature (the state counts printed below the table say how
   many products were done); (b) the bare step: gradient,
   :class:`~taylornet.curvature.HessianOperator`, ``k`` truncated CG
   iterations on :math:`(H + \\lambda I) p = -g` (taylornet.rules), one trial
   loss. Target (on a GPU): <= 12 gradients.

``--device cuda`` runs everything on the GPU (timers read after
``torch.cuda.synchronize()``) and records ``torch.cuda.get_device_name()``.
``--small`` shrinks all models so the script finishes in seconds (a smoke test
of every code path, e.g. the CUDA one on a CPU machine; its figures are not
the benchmark's).

Run:  .venv/bin/python benchmarks/torch_optim.py [--device cuda] [--small] [--repeat 7]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import time

import torch
from torch import nn

from taylornet.core import cg as conjugate_gradient
from taylornet.curvature import GaussNewtonOperator, HessianOperator

LBFGS_OPTIONS = dict(lr=1, max_iter=20, history_size=100, tolerance_grad=1e-7,
                     tolerance_change=1e-9, line_search_fn="strong_wolfe")


# --- machine and timing ------------------------------------------------------------------


def machine(device):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    info = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "loadavg_start": os.getloadavg(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_cpu(fn, device):
    """``(wall seconds, this process's CPU seconds, fn())``.

    On a shared machine the wall time of a CPU run also counts the time other
    jobs held the cores; the process's CPU time does not (it is the better
    comparison under load, with as many torch threads as cores are free).
    """
    sync(device)
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, time.process_time() - c0, out


def round_robin(fns, device, repeat):
    """Median wall and CPU seconds of each of ``fns`` (name -> callable), timed in alternation."""
    for fn in fns.values():  # warm-up (allocator, kernels, autograd caches)
        fn()
    times = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            wall, c, _ = timed_cpu(fn, device)
            times[name].append(wall)
            cpu[name].append(c)
    return ({name: statistics.median(ts) for name, ts in times.items()},
            {name: statistics.median(ts) for name, ts in cpu.items()})


# --- models and data ---------------------------------------------------------------------


def mlp(widths, device, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(device=device, dtype=dtype)


def classification_batch(n, n_in, n_classes, device, dtype=torch.float32, seed=1):
    """Inputs and labels from a random teacher network (learnable, not pure noise)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_in, generator=g, dtype=dtype)
    teacher = torch.randn(n_in, n_classes, generator=g, dtype=dtype) / n_in**0.5
    y = (X @ teacher + 0.5 * torch.randn(n, n_classes, generator=g, dtype=dtype)).argmax(1)
    return X.to(device), y.to(device)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def gradient_fn(model, X, y, loss_fn=nn.functional.cross_entropy):
    params = [p for p in model.parameters() if p.requires_grad]
    return lambda: torch.autograd.grad(loss_fn(model(X), y), params)


# --- 1. HVP / gradient -------------------------------------------------------------------


def bench_hvp(device, widths, batch, repeat):
    model = mlp(widths, device)
    X, y = classification_batch(batch, widths[0], widths[-1], device)
    loss_fn = nn.functional.cross_entropy
    ops = {
        "hvp double_backward (graph reused)": HessianOperator(model, loss_fn, (X, y)),
        "hvp jvp-of-grad": HessianOperator(model, loss_fn, (X, y), mode="jvp"),
        "ggn reverse (graph reused)": GaussNewtonOperator(model, loss_fn, (X, y)),
        "ggn forward jvp": GaussNewtonOperator(model, loss_fn, (X, y), mode="forward"),
    }
    for op in ops.values():
        op.check_finite = False  # time the products, not the host-side check
    g = torch.Generator().manual_seed(2)
    v = torch.randn(n_params(model), generator=g).to(device)

    def scratch():
        op = HessianOperator(model, loss_fn, (X, y), check_finite=False)
        return op @ v

    fns = {"gradient": gradient_fn(model, X, y), **{k: (lambda op=op: op @ v)
                                                     for k, op in ops.items()}}
    fns["hvp double_backward (from scratch)"] = scratch
    med, med_cpu = round_robin(fns, device, repeat)
    hv = {k: ops[k] @ v for k in ops}
    agree_h = float((hv["hvp double_backward (graph reused)"] - hv["hvp jvp-of-grad"]).norm()
                    / hv["hvp jvp-of-grad"].norm())
    agree_g = float((hv["ggn reverse (graph reused)"] - hv["ggn forward jvp"]).norm()
                    / hv["ggn forward jvp"].norm())
    rows = [(name, med[name] * 1e3, med[name] / med["gradient"],
             med_cpu[name] / med_cpu["gradient"]) for name in fns]
    return {"model": f"MLP {'-'.join(map(str, widths))} tanh", "params": n_params(model),
            "batch": batch, "rows": rows, "rel_diff_hvp_modes": agree_h,
            "rel_diff_ggn_modes": agree_g}


# --- 2. L-BFGS vs torch.optim.LBFGS ------------------------------------------------------


class SmallCNN(nn.Module):
    """Two 3x3 convolutions (8 and 16 channels, stride 2), tanh, a linear layer to 10 classes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = torch.tanh(self.conv2(x))
        return self.head(x.flatten(1))


def lbfgs_problems(device, widths, batch, small):
    """name -> (model, loss closure body ``model -> loss``): the four L-BFGS problems."""
    problems = {}
    X, y = classification_batch(batch, widths[0], widths[-1], device, seed=4)
    problems[f"MLP {'-'.join(map(str, widths))} tanh, float32, batch {batch}"] = (
        mlp(widths, device, seed=3), lambda m, X=X, y=y: nn.functional.cross_entropy(m(X), y))

    n_img = 64 if small else 256
    g = torch.Generator().manual_seed(7)
    imgs = torch.randn(n_img, 1, 28, 28, generator=g)
    torch.manual_seed(8)
    teacher = SmallCNN()
    with torch.no_grad():
        labels = teacher(imgs).argmax(1)
    torch.manual_seed(9)
    cnn = SmallCNN().to(device)
    imgs, labels = imgs.to(device), labels.to(device)
    problems[f"CNN conv8-conv16-linear tanh ({n_params(cnn):,} parameters), float32, "
             f"batch {n_img}"] = (
        cnn, lambda m, X=imgs, y=labels: nn.functional.cross_entropy(m(X), y))

    n_lr = 256 if small else 1024
    Xl, yl = classification_batch(n_lr, 784, 10, device, seed=10)
    torch.manual_seed(11)
    logreg = nn.Linear(784, 10).to(device)

    def logistic(m, X=Xl, y=yl):
        return nn.functional.cross_entropy(m(X), y) + 1e-3 * (m.weight ** 2).sum()

    problems[f"logistic regression 784x10, L2 1e-3, float32, batch {n_lr}"] = (logreg, logistic)

    n64 = 128 if small else 512
    g = torch.Generator().manual_seed(12)
    X64 = torch.randn(n64, 64, generator=g, dtype=torch.float64)
    y64 = torch.sin(X64[:, :8].sum(1, keepdim=True)) + 0.1 * torch.randn(
        n64, 1, generator=g, dtype=torch.float64)
    X64, y64 = X64.to(device), y64.to(device)
    problems[f"MLP 64-128-128-1 tanh, float64, MSE, batch {n64}"] = (
        mlp([64, 128, 128, 1], device, dtype=torch.float64, seed=13),
        lambda m, X=X64, y=y64: nn.functional.mse_loss(m(X), y))
    return problems


def bench_lbfgs_one(device, base, loss_of, steps, repeat, TaylorLBFGS):
    """torch.optim.LBFGS and taylornet's on one problem, whole runs timed in alternation."""

    def run(kind):
        model = copy.deepcopy(base)
        count = [0]
        if kind == "torch.optim.LBFGS":
            opt = torch.optim.LBFGS(model.parameters(), **LBFGS_OPTIONS)
        else:
            opt = TaylorLBFGS(model.parameters(), **LBFGS_OPTIONS)

        if kind == "taylornet LBFGS (closure returns loss)":
            def closure():
                count[0] += 1
                return loss_of(model)
        else:  # torch.optim.LBFGS's closure: zero_grad, backward, return the loss
            def closure():
                count[0] += 1
                opt.zero_grad()
                loss = loss_of(model)
                loss.backward()
                return loss

        def all_steps():
            for _ in range(steps):
                opt.step(closure)

        t, c, _ = timed_cpu(all_steps, device)
        with torch.no_grad():
            final = float(loss_of(model))
        theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        return {"time": t, "cpu": c, "evals": count[0], "final_loss": final, "theta": theta}

    kinds = ["torch.optim.LBFGS", "taylornet LBFGS (torch-style closure)",
             "taylornet LBFGS (closure returns loss)"]
    for k in kinds:  # warm-up (allocator, kernels)
        run(k)
    runs = {k: [] for k in kinds}
    for _ in range(repeat):  # round robin over whole runs
        for k in kinds:
            runs[k].append(run(k))
    with torch.no_grad():
        initial = float(loss_of(base))
    ref = runs[kinds[0]][0]
    rows = []
    for k in kinds:
        t = statistics.median(r["time"] for r in runs[k])
        c = statistics.median(r["cpu"] for r in runs[k])
        r0 = runs[k][0]
        rows.append({
            "impl": k, "steps": steps, "evals": r0["evals"], "ms_per_step": t / steps * 1e3,
            "cpu_ms_per_step": c / steps * 1e3,
            "ms_per_eval": t / r0["evals"] * 1e3, "final_loss": r0["final_loss"],
            "times_ms": [round(r["time"] * 1e3, 1) for r in runs[k]],
            "param_rel_diff_vs_torch": float((r0["theta"] - ref["theta"]).norm()
                                             / ref["theta"].norm()),
        })
    for row in rows:
        row["time_ratio"] = row["ms_per_step"] / rows[0]["ms_per_step"]
        row["cpu_ratio"] = row["cpu_ms_per_step"] / rows[0]["cpu_ms_per_step"]
        row["evals_ratio"] = row["evals"] / rows[0]["evals"]
    for row in rows:
        row.pop("theta", None)
    return {"params": n_params(base), "initial_loss": initial, "rows": rows}


def bench_lbfgs(device, widths, batch, steps, repeat, small=False):
    try:
        from taylornet.optim import LBFGS as TaylorLBFGS
    except ImportError as err:
        return {"missing": f"taylornet.optim.LBFGS not importable ({err})"}
    results = {}
    for name, (base, loss_of) in lbfgs_problems(device, widths, batch, small).items():
        results[name] = bench_lbfgs_one(device, base, loss_of, steps, repeat, TaylorLBFGS)
    return {"options": LBFGS_OPTIONS, "problems": results}


# --- 2b. Newton-CG's Hessian products ------------------------------------------------------


def bench_newton_cg_hvp(device, widths, batch, repeat, cg_iters=(5, 10)):
    """NewtonCG(hessian) steps with k CG iterations; the price of one more iteration."""
    try:
        from taylornet.optim import NewtonCG
    except ImportError as err:
        return {"missing": f"taylornet.optim.NewtonCG not importable ({err})"}
    model = mlp(widths, device)
    X, y = classification_batch(batch, widths[0], widths[-1], device)
    loss_fn = nn.functional.cross_entropy
    snapshot = [p.detach().clone() for p in model.parameters()]
    fns = {"gradient": gradient_fn(model, X, y)}
    opts = {}
    for k in cg_iters:
        opt = NewtonCG(model.parameters(), max_cg_iters=k, damping=1.0, cg_tol=0.0)

        def step(opt=opt):
            loss = opt.step(lambda: loss_fn(model(X), y))
            with torch.no_grad():  # every timed step starts from the same point
                for p, s0 in zip(model.parameters(), snapshot, strict=True):
                    p.copy_(s0)
            return loss

        fns[f"NewtonCG.step, hessian, {k} CG iterations"] = step
        opts[k] = opt
    med, med_cpu = round_robin(fns, device, repeat)
    k_lo, k_hi = min(cg_iters), max(cg_iters)
    hi = f"NewtonCG.step, hessian, {k_hi} CG iterations"
    lo = f"NewtonCG.step, hessian, {k_lo} CG iterations"
    per_iter = (med[hi] - med[lo]) / (k_hi - k_lo)
    per_iter_cpu = (med_cpu[hi] - med_cpu[lo]) / (k_hi - k_lo)
    rows = [(name, med[name] * 1e3, med[name] / med["gradient"],
             med_cpu[name] / med_cpu["gradient"]) for name in fns]
    rows.append((f"one CG iteration inside NewtonCG (difference / {k_hi - k_lo})",
                 per_iter * 1e3, per_iter / med["gradient"], per_iter_cpu / med_cpu["gradient"]))
    cg_done = {k: opt.state["taylornet"]["last_cg_iters"] for k, opt in opts.items()}
    return {"model": f"MLP {'-'.join(map(str, widths))} tanh", "params": n_params(model),
            "batch": batch, "rows": rows, "cg_iterations_done": cg_done,
            "per_iteration_gradients": per_iter / med["gradient"],
            "per_iteration_gradients_cpu": per_iter_cpu / med_cpu["gradient"]}


# --- 3. Newton-CG step / gradient --------------------------------------------------------


def bare_newton_cg_step(model, X, y, loss_fn, cg_iters, damping=1.0):
    """Gradient, k damped-CG iterations on H-products, the step, one trial loss. No update."""
    op = HessianOperator(model, loss_fn, (X, y), check_finite=False)
    g = op.grad

    def matvec(v):
        return op @ v + damping * v

    res = conjugate_gradient(matvec, -g, tol=0.0, max_iter=cg_iters,
                             stop_on_negative_curvature=True)
    theta = [p.detach() for p in model.parameters()]
    steps = op._f.unflatten(res.x)
    with torch.no_grad():
        for p, s in zip(theta, steps, strict=True):
            p.add_(s)
        trial = loss_fn(model(X), y)
        for p, s in zip(theta, steps, strict=True):
            p.sub_(s)
    return trial, res.n_iter


def bench_newton_cg(device, widths, batch, repeat, cg_iters=(5, 10)):
    model = mlp(widths, device, seed=5)
    X, y = classification_batch(batch, widths[0], widths[-1], device, seed=6)
    loss_fn = nn.functional.cross_entropy
    fns = {"gradient": gradient_fn(model, X, y)}
    info = {}
    for k in cg_iters:
        fns[f"bare step, {k} CG iterations"] = (
            lambda k=k: bare_newton_cg_step(model, X, y, loss_fn, k))
    try:
        from taylornet.optim import NewtonCG
    except ImportError as err:
        info["optim_missing"] = f"taylornet.optim.NewtonCG not importable ({err})"
        NewtonCG = None
    opts = {}
    if NewtonCG is not None:
        configs = [("gauss-newton", k) for k in cg_iters] + [("hessian", max(cg_iters))]
        for curvature, k in configs:
            m_k = copy.deepcopy(model)
            opt = NewtonCG(m_k.parameters(), max_cg_iters=k, damping=1.0, curvature=curvature,
                            cg_tol=0.0)  # exactly k CG iterations unless negative curvature
            snapshot = [p.detach().clone() for p in m_k.parameters()]
            if curvature == "gauss-newton":
                def closure(m_k=m_k):
                    out = m_k(X)
                    return loss_fn(out, y), out
            else:
                def closure(m_k=m_k):
                    return loss_fn(m_k(X), y)

            def step(opt=opt, m_k=m_k, snapshot=snapshot, closure=closure):
                loss = opt.step(closure)
                with torch.no_grad():  # every timed step starts from the same point
                    for p, s in zip(m_k.parameters(), snapshot, strict=True):
                        p.copy_(s)
                return loss

            name = f"taylornet.optim.NewtonCG.step, {curvature}, max_cg_iters={k}"
            opts[name] = opt
            fns[name] = step
    med, med_cpu = round_robin(fns, device, repeat)
    rows = [(name, med[name] * 1e3, med[name] / med["gradient"],
             med_cpu[name] / med_cpu["gradient"]) for name in fns]
    counts = {}
    for name, opt in opts.items():
        s = opt.state["taylornet"]
        counts[name] = {key: s.get(key) for key in ("n_function_evals", "n_grad_evals", "n_hvp",
                                                     "last_cg_iters", "last_status")}
        counts[name]["calls"] = repeat + 1
    for k in cg_iters:
        info[f"bare step {k}: CG iterations done"] = bare_newton_cg_step(model, X, y, loss_fn,
                                                                          k)[1]
    return {"model": f"MLP {'-'.join(map(str, widths))} tanh", "params": n_params(model),
            "batch": batch, "rows": rows, "newton_cg_counts": counts, **info}


# --- report ------------------------------------------------------------------------------


def report(info, hvp, lbfgs, newton, hvp_ncg=None):
    out = []
    out.append(f"Machine: {info['cpu']} ({info['cpu_count']} logical CPUs), "
               f"torch {info['torch']}, Python {info['python']}, {info['threads']} torch "
               f"threads, device {info['device']}"
               + (f" ({info['gpu']}, CUDA {info['cuda']})" if "gpu" in info else "")
               + f"; load average {info['loadavg_start'][0]:.2f} at start, "
               f"{info['loadavg_end'][0]:.2f} at end.\n")
    out.append(f"### HVP / gradient: {hvp['model']} ({hvp['params']:,} parameters), batch "
               f"{hvp['batch']}, cross-entropy, float32\n")
    out.append("| product | time [ms] | / gradient | CPU time / gradient |\n|---|---|---|---|")
    for name, ms, ratio, cpu_ratio in hvp["rows"]:
        out.append(f"| {name} | {ms:.1f} | {ratio:.2f} | {cpu_ratio:.2f} |")
    out.append(f"\nRelative difference of the two HVP modes: {hvp['rel_diff_hvp_modes']:.1e}; "
               f"of the two GGN modes: {hvp['rel_diff_ggn_modes']:.1e}.\n")
    if "missing" in lbfgs:
        out.append(f"### L-BFGS: not measured: {lbfgs['missing']}\n")
    else:
        out.append(f"### L-BFGS vs torch.optim.LBFGS, options {lbfgs['options']}\n")
        out.append("| problem | implementation | closure evals | ms/step | CPU ms/step "
                   "| final loss | evals ratio | time ratio | CPU time ratio "
                   "| ‖θ−θ_torch‖/‖θ_torch‖ |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for name, res in lbfgs["problems"].items():
            for r in res["rows"]:
                out.append(f"| {name} | {r['impl']} | {r['evals']} | {r['ms_per_step']:.1f} "
                           f"| {r['cpu_ms_per_step']:.1f} | {r['final_loss']:.3g} | "
                           f"{r['evals_ratio']:.2f} | {r['time_ratio']:.2f} | "
                           f"{r['cpu_ratio']:.2f} | {r['param_rel_diff_vs_torch']:.1e} |")
        out.append("")
        for name, res in lbfgs["problems"].items():
            out.append(f"- {name}: {res['params']:,} parameters, initial loss "
                       f"{res['initial_loss']:.4g}; whole-run times [ms]: "
                       + "; ".join(f"{r['impl']} {r['times_ms']}" for r in res["rows"]))
        out.append("")
    if hvp_ncg is not None:
        if "missing" in hvp_ncg:
            out.append(f"### Newton-CG Hessian products: not measured: {hvp_ncg['missing']}\n")
        else:
            out.append(f"### Newton-CG Hessian products: {hvp_ncg['model']} "
                       f"({hvp_ncg['params']:,} parameters), batch {hvp_ncg['batch']}\n")
            out.append("| operation | time [ms] | / gradient | CPU time / gradient |\n"
                       "|---|---|---|---|")
            for name, ms, ratio, cpu_ratio in hvp_ncg["rows"]:
                out.append(f"| {name} | {ms:.1f} | {ratio:.2f} | {cpu_ratio:.2f} |")
            out.append(f"\nCG iterations done in the last timed step: "
                       f"{hvp_ncg['cg_iterations_done']}\n")
    if not newton["rows"]:
        return "\n".join(out)
    out.append(f"### Newton-CG step / gradient: {newton['model']} ({newton['params']:,} "
               f"parameters), batch {newton['batch']}, cross-entropy, float32\n")
    out.append("| operation | time [ms] | / gradient | CPU time / gradient |\n|---|---|---|---|")
    for name, ms, ratio, cpu_ratio in newton["rows"]:
        out.append(f"| {name} | {ms:.1f} | {ratio:.2f} | {cpu_ratio:.2f} |")
    if "optim_missing" in newton:
        out.append(f"\ntaylornet.optim.NewtonCG: not measured: {newton['optim_missing']}")
    for key, val in newton.items():
        if key.startswith("bare step"):
            out.append(f"\n{key}: {val}")
    for k, c in newton["newton_cg_counts"].items():
        out.append(f"\n{k}: state after {c['calls']} steps: "
                   + ", ".join(f"{key}={val}" for key, val in c.items() if key != "calls"))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--small", action="store_true", help="small models: a smoke test")
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds (median)")
    parser.add_argument("--newton-repeat", type=int, default=3)
    parser.add_argument("--lbfgs-steps", type=int, default=5)
    parser.add_argument("--lbfgs-repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--skip", default="",
                        help="comma list of hvp,lbfgs,newton_hvp,newton to skip")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine")
    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    big = [784, 1024, 1024, 10]
    newton_widths = [784, 3072, 3072, 10]
    if args.small:
        big, newton_widths = [784, 128, 128, 10], [784, 256, 256, 10]
    info = machine(device)
    empty = {"model": "-", "params": 0, "batch": 0, "rows": [], "newton_cg_counts": {},
             "rel_diff_hvp_modes": float("nan"), "rel_diff_ggn_modes": float("nan")}
    hvp = bench_hvp(device, big, 512, args.repeat) if "hvp" not in skip else empty
    lbfgs = (bench_lbfgs(device, big, 512, args.lbfgs_steps, args.lbfgs_repeat, args.small)
             if "lbfgs" not in skip else {"missing": "skipped (--skip)"})
    hvp_ncg = (bench_newton_cg_hvp(device, big, 512, args.repeat)
               if "newton_hvp" not in skip else {"missing": "skipped (--skip)"})
    newton = bench_newton_cg(device, newton_widths, 512, args.newton_repeat) \
        if "newton" not in skip else empty
    info["loadavg_end"] = os.getloadavg()
    text = report(info, hvp, lbfgs, newton, hvp_ncg)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "hvp": hvp, "lbfgs": lbfgs, "newton": newton,
                       "newton_hvp": hvp_ncg}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
