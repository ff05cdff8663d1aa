"""Chapter 8 GPU benchmark: six optimisers on a larger two-moons network.

Trains GD, momentum, Adam (torch.optim) and L-BFGS, Newton-CG, TaylorFlow
(taylornet.optim) with the same ``step(closure)`` loop as chapter 8 on a
2 -> 256 -> 256 -> 1 tanh network (about 67 000 weights) and 20 000 points,
on ``cuda`` when available. Writes ``chapters/figures/ch8_gpu_benchmark.png``
(loss gap against iterations, gradient evaluations and seconds) and
``ch8_gpu_benchmark.csv`` (one row per step).

Cost convention (as in the chapter): a gradient counts 1, a Hessian-vector
product 2, a function value alone 1/2; L-BFGS is driven one iteration per
``step``, and the repeated evaluation at the start of each step is not counted.

Usage: python chapters/scripts/ch8_gpu_benchmark.py [--device cuda|cpu]
       [--budget 3000] [--width 256] [--n 20000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from taylornet.optim import LBFGS, NewtonCG, TaylorFlow

OUT_DIR = Path(__file__).resolve().parents[1] / "figures"
WEIGHT_DECAY = 1e-4


def two_moons(n, noise, seed, device):
    r = np.random.default_rng(seed)
    t = r.uniform(0.0, np.pi, n)
    label = r.integers(0, 2, n)
    upper = np.c_[np.cos(t), np.sin(t)]
    lower = np.c_[1.0 - np.cos(t), 0.5 - np.sin(t)]
    x = np.where(label[:, None] == 0, upper, lower) + noise * r.standard_normal((n, 2))
    return (torch.tensor(x, device=device),
            torch.tensor(label, dtype=torch.float64, device=device))


def make_net(width, seed, device):
    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh(),
                              torch.nn.Linear(width, width), torch.nn.Tanh(),
                              torch.nn.Linear(width, 1))
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen)
                                   / math.sqrt(layer.in_features))
                layer.bias.zero_()
    return net.to(device)


def loss_fn(net, X, y):
    decay = sum(p.pow(2).sum() for p in net.parameters())
    return (F.binary_cross_entropy_with_logits(net(X).squeeze(-1), y)
            + 0.5 * WEIGHT_DECAY * decay)


METHODS = {
    "GD": (lambda p: torch.optim.SGD(p, lr=0.5), True),
    "momentum": (lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), True),
    "Adam": (lambda p: torch.optim.Adam(p, lr=1e-3), True),
    "L-BFGS": (lambda p: LBFGS(p, max_iter=1, history_size=20), False),
    "Newton-CG": (lambda p: NewtonCG(p), False),
    "TaylorFlow": (lambda p: TaylorFlow(p, lr=0.5, order=2), False),
}


def cost_of(opt, counter, name):
    info = opt.state.get("taylornet")
    if info is None:
        return float(counter[0])
    grads = info["n_grad_evals"] - (info["n_steps"] - 1 if name == "L-BFGS" else 0)
    values_alone = max(info["n_function_evals"] - info["n_grad_evals"], 0)
    return grads + 2.0 * info["n_hvp"] + 0.5 * values_alone


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train(name, X, y, width, budget, device):
    make, backward = METHODS[name]
    net = make_net(width, seed=0, device=device)
    opt = make(list(net.parameters()))
    counter = [0]

    def closure():
        return loss_fn(net, X, y)

    def closure_backward():
        opt.zero_grad()
        loss = loss_fn(net, X, y)
        loss.backward()
        counter[0] += 1
        return loss

    rows, elapsed, it, cost = [], 0.0, 0, 0.0
    while cost < budget:
        sync(device)
        t0 = time.perf_counter()
        loss = opt.step(closure_backward if backward else closure)
        sync(device)
        elapsed += time.perf_counter() - t0
        rows.append((name, it, cost, elapsed, float(loss.detach())))
        it += 1
        cost = cost_of(opt, counter, name)
        if len(rows) > 10 and len({r[4] for r in rows[-10:]}) == 1:
            break
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--budget", type=float, default=3000)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for testing")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    if args.quick:
        args.budget, args.width, args.n = 60, 16, 500
    torch.set_default_dtype(torch.float64)
    device = torch.device(args.device)
    X, y = two_moons(args.n, 0.25, seed=0, device=device)
    n_weights = sum(p.numel() for p in make_net(args.width, 0, device).parameters())
    rows = []
    for name in METHODS:
        rows += train(name, X, y, args.width, args.budget, device)
        print(f"{name:11s} loss {rows[-1][4]:.6f} after {rows[-1][1] + 1} steps, "
              f"{rows[-1][3]:.2f} s")
    e_star = min(r[4] for r in rows)

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "ch8_gpu_benchmark.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "iteration", "gradient_evaluations", "seconds", "loss",
                         "device", "n_weights", "n_points"])
        for r in rows:
            writer.writerow([*r, str(device), n_weights, args.n])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for name in METHODS:
        r = np.array([x[1:] for x in rows if x[0] == name], dtype=float)
        gap = np.maximum(r[:, 3] - e_star, 1e-12)
        for ax, col in zip(axes, (0, 1, 2), strict=True):
            ax.loglog(np.maximum(r[:, col], 1e-4 if col == 2 else 1), gap, label=name)
    axes[0].set(xlabel="iteration", ylabel="loss - best loss seen")
    axes[1].set(xlabel="gradient evaluations (HVP = 2, value alone = 1/2)")
    axes[2].set(xlabel=f"seconds inside step() on {device}")
    axes[0].legend()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    fig.suptitle(f"{n_weights} weights, {args.n} points, on {name}")
    fig.tight_layout()
    fig.savefig(args.out / "ch8_gpu_benchmark.png", dpi=100)
    print(f"wrote {csv_path} and {args.out / 'ch8_gpu_benchmark.png'}")


if __name__ == "__main__":
    main()
