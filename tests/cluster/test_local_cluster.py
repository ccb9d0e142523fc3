"""A real loopback 2-node Ray cluster (logical GPUs): trials spread, and survive a dead node."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluster.local import (
    LocalCluster,
    cluster_processes,
    down,
    kill_worker_raylet,
    ray_env,
    up,
)

SEARCH = ["--task", "superres", "--num-samples", "4", "--max-epochs", "3", "--grace-epochs", "3",
          "--concurrency", "2", "--cpus-per-trial", "1", "--gpus-per-trial", "0.5",
          "--no-dashboard", "--refit-top", "0", "--asha", "stop"]


@pytest.fixture
def cluster():
    started = up(nodes=2, cpus_per_node=1, gpus_per_node=2)
    try:
        yield started
    finally:
        down(started)  # even when the test fails
        assert not cluster_processes(started), "Ray processes left behind"


def _results(experiment: Path) -> dict[str, list[dict]]:
    return {path.parent.name: [json.loads(line) for line in path.read_text().splitlines()
                               if line.strip()]
            for path in experiment.glob("trial_*/result.json")}


def _search(cluster, data: Path, storage: Path, name: str) -> subprocess.Popen:
    env = ray_env() | {"PYTHONUNBUFFERED": "1"}
    log = open(storage / f"{name}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "search.run", *SEARCH, "--address", cluster.address, "--data",
         str(data), "--storage", str(storage), "--name", name],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd())


def test_trials_spread_over_both_nodes_and_a_worker_node_dying_loses_none(cluster, sr_data,
                                                                         tmp_path):
    # Fractional GPUs (0.5 a trial on nodes of 2 logical GPUs and 1 CPU): one trial a node.
    search = _search(cluster, sr_data, tmp_path, "faulty")
    experiment = tmp_path / "faulty"
    deadline = time.time() + 240
    # Kill the worker node once a trial on it has reported an epoch.
    nodes = set()
    while len(nodes) < 2:
        assert time.time() < deadline, "no trial ran on the second node"
        assert search.poll() is None, (tmp_path / "faulty.log").read_text()[-3000:]
        nodes = {row["node_id"] for rows in _results(experiment).values() for row in rows}
        time.sleep(0.2)
    kill_worker_raylet(cluster)
    assert search.wait(timeout=500) == 0, (tmp_path / "faulty.log").read_text()[-3000:]
    results = _results(experiment)
    assert len(results) == 4, "a trial was lost"
    assert all(rows[-1]["epoch"] == 3 for rows in results.values())
    with open(experiment / "leaderboard.csv") as f:
        assert sum(1 for line in f) == 1 + 4 + 1  # header, 4 trials, bicubic


def test_cli_up_and_down_stops_only_its_own_processes(tmp_path):
    state = tmp_path / "cluster.json"
    env = ray_env()
    run = [sys.executable, "-m", "cluster.local"]
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        started = subprocess.run([*run, "up", "--nodes", "1", "--state", str(state)],
                                 capture_output=True, text=True, env=env, timeout=120)
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip().startswith("127.0.0.1:")
        recorded = LocalCluster.load(state)
        assert any(p.name() == "raylet" for p in cluster_processes(recorded))
        # A driver that joins it (as a notebook's ray.init(address) would) is on a cluster: a
        # trial no node holds is warned of, not refused, since an autoscaler may add a node.
        joined = subprocess.run(
            [sys.executable, "-c", "import ray; from cluster import runtime; "
             f"ray.init(address={started.stdout.strip()!r}, logging_level='ERROR'); "
             "assert not runtime.runtime_started_in_this_process(); "
             "runtime.check_trial_fits(64, 0)"],
            capture_output=True, text=True, env=env, timeout=120)
        assert joined.returncode == 0, joined.stderr
        assert "trials wait until an autoscaler adds one" in joined.stderr
        address = started.stdout.strip()
        # Joining needs nothing set by hand: token authentication is turned on, the token found.
        plain = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
        joined = subprocess.run(
            [sys.executable, "-c", "from cluster.runtime import start_ray, stop_ray; "
             f"start_ray({address!r}); stop_ray()"],
            capture_output=True, text=True, env=plain, timeout=120)
        assert joined.returncode == 0, joined.stderr
        # A token the cluster refuses, or none at all, is one line and exit 2, within seconds.
        (tmp_path / "home").mkdir()
        for extra, said in (({"RAY_AUTH_TOKEN": "not-this-clusters"}, "refuses this Ray "
                             "authentication token; set RAY_AUTH_TOKEN"),
                            ({"HOME": str(tmp_path / "home")}, "no Ray authentication token "
                             "here; set RAY_AUTH_TOKEN")):
            start = time.time()
            refused = subprocess.run(
                [sys.executable, "-m", "search.run", "--task", "superres", "--address", address,
                 "--storage", str(tmp_path / "res")],
                capture_output=True, text=True, env=plain | extra, timeout=120)
            assert time.time() - start < 10, refused.stderr
            errors = refused.stderr.strip().splitlines()
            assert refused.returncode == 2 and len(errors) == 1 and said in errors[0], errors
        again = subprocess.run([*run, "up", "--state", str(state)], capture_output=True,
                               text=True, env=env, timeout=60)
        assert again.returncode == 2 and "already recorded" in again.stderr
        stopped = subprocess.run([*run, "down", "--state", str(state)], capture_output=True,
                                 text=True, env=env, timeout=120)
        assert stopped.returncode == 0 and not state.exists()
        assert stopped.stdout.startswith("stopped ") and int(stopped.stdout.split()[1]) > 0
        assert not cluster_processes(recorded)
        assert bystander.poll() is None, "down stopped a process it did not start"
    finally:
        bystander.kill()
