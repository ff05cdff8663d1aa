"""One rank of the distributed taylornet.optim test (run by tests/test_optim_distributed.py).

usage: python optim_ddp_worker.py METHODS RANK WORLD_SIZE PORT OUT

(METHODS comma-separated, each run from the same initial model.)

With WORLD_SIZE 1 it trains on the full batch without torch.distributed; with
2 it initialises gloo on 127.0.0.1:PORT, wraps the model in
DistributedDataParallel and trains on this rank's half of the batch. Rank 0
saves, per method, the parameters after every step and the returned
losses to OUT.
"""

import sys

import torch
import torch.distributed as dist

from taylornet.optim import LBFGS, NewtonCG

STEPS = {"lbfgs": 3, "newton-cg": 4, "newton-cg-gn": 4}


def main(methods, rank, world_size, port, out):
    if world_size > 1:
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=world_size)
    results = {method: train(method, rank, world_size) for method in methods.split(",")}
    if rank == 0:
        torch.save(results, out)
    if world_size > 1:
        dist.destroy_process_group()


def train(method, rank, world_size):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)).unsqueeze(1)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1)).double()
    if world_size > 1:
        shard = X.shape[0] // world_size  # equal shards; the mean loss averages exactly
        X, y = X[rank * shard:(rank + 1) * shard], y[rank * shard:(rank + 1) * shard]
        model = torch.nn.parallel.DistributedDataParallel(model)
    if method == "lbfgs":
        opt = LBFGS(model.parameters(), max_iter=5, history_size=4)
    else:
        curvature = "gauss-newton" if method == "newton-cg-gn" else "hessian"
        opt = NewtonCG(model.parameters(), damping=0.1, max_cg_iters=8, curvature=curvature)

    def closure():
        out = model(X)
        loss = torch.nn.functional.mse_loss(out, y)
        return (loss, out) if method == "newton-cg-gn" else loss

    iterates, losses = [], []
    for _ in range(STEPS[method]):
        losses.append(float(opt.step(closure)))
        iterates.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    return {"iterates": torch.stack(iterates), "losses": losses,
            "state": dict(opt.state["taylornet"])}


if __name__ == "__main__":
    method, rank, world_size, port, out = sys.argv[1:]
    main(method, int(rank), int(world_size), int(port), out)
