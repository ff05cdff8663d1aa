"""LBFGS and NewtonCG under DistributedDataParallel (gloo, 2 ranks on loopback) = full batch."""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

WORKER = Path(__file__).with_name("optim_ddp_worker.py")

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo"
)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(method, world_size, out):
    port = free_port()
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), method, str(rank), str(world_size),
                          str(port), str(out)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for rank in range(world_size)
    ]
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=120)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"distributed worker timed out: {logs}")
    assert all(p.returncode == 0 for p in procs), "\n".join(logs)
    return torch.load(out)


METHODS = ["lbfgs", "newton-cg", "newton-cg-gn"]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """One launch of two gloo ranks running every method (process start-up is the cost)."""
    return launch(",".join(METHODS), 2, tmp_path_factory.mktemp("ddp") / "ddp.pt")


def single_process(method):
    """The same training code in this process, without torch.distributed, on the full batch."""
    spec = importlib.util.spec_from_file_location("optim_ddp_worker", WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    assert not dist.is_initialized()
    return worker.train(method, rank=0, world_size=1)


@pytest.mark.parametrize("method", METHODS)
def test_two_ranks_match_one_process_on_the_full_batch(method, two_ranks):
    single = single_process(method)
    ddp = two_ranks[method]
    assert ddp["iterates"].shape == single["iterates"].shape
    # the iterates move (the comparison is not trivial) ...
    assert (single["iterates"][-1] - single["iterates"][0]).abs().max() > 1e-3
    assert single["losses"][-1] < single["losses"][0]
    # ... and two ranks on half batches take exactly the full-batch steps
    torch.testing.assert_close(ddp["iterates"], single["iterates"], rtol=0, atol=1e-10)
    assert ddp["losses"] == pytest.approx(single["losses"], rel=1e-10)
    for key in ("n_function_evals", "n_hvp", "rejected_steps"):
        assert ddp["state"][key] == single["state"][key]
