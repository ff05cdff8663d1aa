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
2. **L-BFGS.** ``taylornet.optim.LBFGS`` vs ``torch.optim.LBFGS`` on the same
   MLP, data and initial weights, same options (``max_iter=20``,
   ``history_size=100``, ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``,
   ``line_search_fn="strong_wolfe"``), ``--lbfgs-steps`` calls of
   ``step``: closure evaluations and time per step. Targets: time ratio
   <= 1.0, no more evaluations. Skipped (reported as not measured) when
   ``taylornet.optim`` cannot be imported.
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

from taylornet.curvature import GaussNewtonOperator, HessianOperator
from taylornet.rules.conjugate_gradient import _conjugate_gradient

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


def timed(fn, device):
    """Seconds for ``fn()``, the device drained before and after."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


def round_robin(fns, device, repeat):
    """Median seconds of each of ``fns`` (name -> callable), timed in alternation."""
    for fn in fns.values():  # warm-up (allocator, kernels, autograd caches)
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(timed(fn, device)[0])
    return {name: statistics.median(ts) for name, ts in times.items()}, times


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
    med, _ = round_robin(fns, device, repeat)
    hv = {k: ops[k] @ v for k in ops}
    agree_h = float((hv["hvp double_backward (graph reused)"] - hv["hvp jvp-of-grad"]).norm()
                    / hv["hvp jvp-of-grad"].norm())
    agree_g = float((hv["ggn reverse (graph reused)"] - hv["ggn forward jvp"]).norm()
                    / hv["ggn forward jvp"].norm())
    rows = [(name, med[name] * 1e3, med[name] / med["gradient"]) for name in fns]
    return {"model": f"MLP {'-'.join(map(str, widths))} tanh", "params": n_params(model),
            "batch": batch, "rows": rows, "rel_diff_hvp_modes": agree_h,
            "rel_diff_ggn_modes": agree_g}


# --- 2. L-BFGS vs torch.optim.LBFGS ------------------------------------------------------


def bench_lbfgs(device, widths, batch, steps, repeat):
    try:
        from taylornet.optim import LBFGS as TaylorLBFGS
    except ImportError as err:
        return {"missing": f"taylornet.optim.LBFGS not importable ({err})"}
    base = mlp(widths, device, seed=3)
    X, y = classification_batch(batch, widths[0], widths[-1], device, seed=4)
    loss_fn = nn.functional.cross_entropy

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
                return loss_fn(model(X), y)
        else:  # torch.optim.LBFGS's closure: zero_grad, backward, return the loss
            def closure():
                count[0] += 1
                opt.zero_grad()
                loss = loss_fn(model(X), y)
                loss.backward()
                return loss

        step_times, evals = [], []
        for _ in range(steps):
            before = count[0]
            t, _ = timed(lambda: opt.step(closure), device)
            step_times.append(t)
            evals.append(count[0] - before)
        with torch.no_grad():
            final = float(loss_fn(model(X), y))
        theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        return {"time": sum(step_times), "evals": sum(evals), "final_loss": final,
                "theta": theta}

    kinds = ["torch.optim.LBFGS", "taylornet LBFGS (closure returns loss)",
             "taylornet LBFGS (torch-style closure)"]
    runs = {k: [] for k in kinds}
    for _ in range(repeat):  # round robin over whole runs
        for k in kinds:
            runs[k].append(run(k))
    with torch.no_grad():
        initial = float(loss_fn(base(X), y))
    ref = runs[kinds[0]][0]
    rows = []
    for k in kinds:
        t = statistics.median(r["time"] for r in runs[k])
        r0 = runs[k][0]
        rows.append({
            "impl": k, "steps": steps, "evals": r0["evals"],
            "evals_per_step": r0["evals"] / steps, "ms_per_step": t / steps * 1e3,
            "ms_per_eval": t / r0["evals"] * 1e3, "final_loss": r0["final_loss"],
            "param_rel_diff_vs_torch": float((r0["theta"] - ref["theta"]).norm()
                                             / ref["theta"].norm()),
        })
    t_ref = rows[0]["ms_per_step"]
    for row in rows:
        row["time_ratio"] = row["ms_per_step"] / t_ref
        row["evals_ratio"] = row["evals"] / rows[0]["evals"]
    return {"model": f"MLP {'-'.join(map(str, widths))} tanh", "params": n_params(base),
            "batch": batch, "initial_loss": initial, "options": LBFGS_OPTIONS, "rows": rows}


# --- 3. Newton-CG step / gradient --------------------------------------------------------


def bare_newton_cg_step(model, X, y, loss_fn, cg_iters, damping=1.0):
    """Gradient, k damped-CG iterations on H-products, the step, one trial loss. No update."""
    op = HessianOperator(model, loss_fn, (X, y), check_finite=False)
    g = op.grad

    def matvec(v):
        return op @ v + damping * v

    res = _conjugate_gradient(matvec, -g, tol=0.0, max_iter=cg_iters,
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
    med, _ = round_robin(fns, device, repeat)
    rows = [(name, med[name] * 1e3, med[name] / med["gradient"]) for name in fns]
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


def report(info, hvp, lbfgs, newton):
    out = []
    out.append(f"Machine: {info['cpu']} ({info['cpu_count']} logical CPUs), "
               f"torch {info['torch']}, Python {info['python']}, {info['threads']} torch "
               f"threads, device {info['device']}"
               + (f" ({info['gpu']}, CUDA {info['cuda']})" if "gpu" in info else "")
               + f"; load average {info['loadavg_start'][0]:.2f} at start, "
               f"{info['loadavg_end'][0]:.2f} at end.\n")
    out.append(f"### HVP / gradient: {hvp['model']} ({hvp['params']:,} parameters), batch "
               f"{hvp['batch']}, cross-entropy, float32\n")
    out.append("| product | time [ms] | / gradient |\n|---|---|---|")
    for name, ms, ratio in hvp["rows"]:
        out.append(f"| {name} | {ms:.1f} | {ratio:.2f} |")
    out.append(f"\nRelative difference of the two HVP modes: {hvp['rel_diff_hvp_modes']:.1e}; "
               f"of the two GGN modes: {hvp['rel_diff_ggn_modes']:.1e}.\n")
    if "missing" in lbfgs:
        out.append(f"### L-BFGS: not measured: {lbfgs['missing']}\n")
    else:
        out.append(f"### L-BFGS: {lbfgs['model']} ({lbfgs['params']:,} parameters), batch "
                   f"{lbfgs['batch']}, cross-entropy (initial loss {lbfgs['initial_loss']:.4f}), "
                   f"options {lbfgs['options']}\n")
        out.append("| implementation | steps | closure evals | evals/step | ms/step | ms/eval "
                   "| final loss | evals ratio | time ratio | ‖θ−θ_torch‖/‖θ_torch‖ |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in lbfgs["rows"]:
            out.append(f"| {r['impl']} | {r['steps']} | {r['evals']} | {r['evals_per_step']:.1f} "
                       f"| {r['ms_per_step']:.1f} | {r['ms_per_eval']:.2f} | "
                       f"{r['final_loss']:.6f} | {r['evals_ratio']:.2f} | "
                       f"{r['time_ratio']:.2f} | {r['param_rel_diff_vs_torch']:.1e} |")
        out.append("")
    out.append(f"### Newton-CG step / gradient: {newton['model']} ({newton['params']:,} "
               f"parameters), batch {newton['batch']}, cross-entropy, float32\n")
    out.append("| operation | time [ms] | / gradient |\n|---|---|---|")
    for name, ms, ratio in newton["rows"]:
        out.append(f"| {name} | {ms:.1f} | {ratio:.2f} |")
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
    parser.add_argument("--skip", default="", help="comma list of hvp,lbfgs,newton to skip")
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
    lbfgs = (bench_lbfgs(device, big, 512, args.lbfgs_steps, args.lbfgs_repeat)
             if "lbfgs" not in skip else {"missing": "skipped (--skip)"})
    newton = bench_newton_cg(device, newton_widths, 512, args.newton_repeat) \
        if "newton" not in skip else empty
    info["loadavg_end"] = os.getloadavg()
    text = report(info, hvp, lbfgs, newton)
    print(text)
    if args.json:
        for r in lbfgs.get("rows", []):
            r.pop("theta", None)
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "hvp": hvp, "lbfgs": lbfgs, "newton": newton}, fh,
                      indent=1, default=str)


if __name__ == "__main__":
    main()
