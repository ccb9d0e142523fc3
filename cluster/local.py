"""A loopback multi-node Ray cluster for development and tests.

    python -m cluster.local up --nodes 2 --cpus-per-node 1 --gpus-per-node 2
    python -m cluster.local down

`up` starts a head and workers with `ray start` on 127.0.0.1 (GPUs may be logical: Ray only
counts them), all under one fresh temporary folder, with token authentication on, and prints the
address. `down` stops exactly the processes whose command lines name that folder, never another
Ray on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly

DEFAULT_STATE = Path(tempfile.gettempdir()) / "lenstune-local-cluster.json"
OBJECT_STORE_BYTES = 256 * 1024 * 1024
"""Per node: enough for the tests' data, small enough for several nodes on a laptop."""


@dataclass
class LocalCluster:
    address: str
    temp_dir: str
    nodes: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> LocalCluster:
        if not path.is_file():
            raise UserError(f"no local cluster recorded in {path}; start one with `up`")
        return cls(**json.loads(path.read_text()))


def ray_env() -> dict:
    """Ray 2.60 token authentication, on for every node that joins and every client; and quick
    node-death detection (1 s checks, 3 misses), so that a dead node's trials are retried
    elsewhere instead of on the node that is gone."""
    return os.environ | {"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0",
                         "RAY_health_check_period_ms": "1000",
                         "RAY_health_check_timeout_ms": "1000",
                         "RAY_health_check_failure_threshold": "3"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str) -> None:
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    result = subprocess.run([ray, *args], env=ray_env(), capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"ray {args[0]} failed: {tail[0]}")


def up(nodes: int, cpus_per_node: float, gpus_per_node: int) -> LocalCluster:
    """Start a head and nodes-1 workers on 127.0.0.1; returns where to reach them."""
    if nodes < 1 or cpus_per_node <= 0 or gpus_per_node < 0:
        raise UserError("--nodes and --cpus-per-node must be positive, --gpus-per-node >= 0")
    temp_dir = tempfile.mkdtemp(prefix="lenstune-ray-")
    port = _free_port()
    common = ["--node-ip-address=127.0.0.1", f"--num-cpus={int(cpus_per_node)}",
              f"--num-gpus={gpus_per_node}", f"--object-store-memory={OBJECT_STORE_BYTES}",
              "--disable-usage-stats"]
    cluster = LocalCluster(f"127.0.0.1:{port}", temp_dir, nodes)
    try:
        # `ray start` does not make a token by itself (a local ray.init() does): make one once.
        _ray("get-auth-token", "--generate")
        _ray("start", "--head", f"--port={port}", f"--temp-dir={temp_dir}",
             "--include-dashboard=false", *common)
        for _ in range(nodes - 1):
            _ray("start", f"--address={cluster.address}", *common)
    except BaseException:
        down(cluster)
        raise
    return cluster


def cluster_processes(cluster: LocalCluster) -> list[psutil.Process]:
    """Every process of this cluster: their command lines all name its temporary folder."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(cluster.temp_dir in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def down(cluster: LocalCluster, timeout: float = 15.0) -> int:
    """Stop this cluster's processes (SIGTERM, then SIGKILL); returns how many there were.

    In `ray stop`'s order: the raylets, then the rest, the GCS last. Stopped all at once, a
    raylet waits on the GCS going down beside it and outlives any grace period.
    """
    procs = cluster_processes(cluster)
    first = [p for p in procs if _name(p) == "raylet"]
    last = [p for p in procs if _name(p) == "gcs_server"]
    middle = [p for p in procs if p not in first and p not in last]
    for bucket in (first, middle, last):
        for proc in bucket:
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(bucket, timeout=timeout / 3)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)
    return len(procs)


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def kill_worker_raylet(cluster: LocalCluster) -> int:
    """Kill one worker node's raylet (not the head's): a node dying mid-search. Returns its pid."""
    raylets = sorted((p for p in cluster_processes(cluster) if p.name() == "raylet"),
                     key=lambda p: p.create_time())
    if len(raylets) < 2:
        raise UserError("no worker node to kill: the cluster has only its head")
    raylets[-1].kill()  # the newest raylet is the last worker started; the head's is the first
    return raylets[-1].pid


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="python -m cluster.local",
                                   description="A loopback multi-node Ray cluster.")
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--cpus-per-node", type=float, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=0, help="logical GPUs per node")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help="where `up` records the cluster for `down`")
    args = parser.parse_args(argv)
    if args.command == "up":
        if args.state.exists():
            raise UserError(f"a local cluster is already recorded in {args.state}; run `down`")
        cluster = up(args.nodes, args.cpus_per_node, args.gpus_per_node)
        cluster.save(args.state)
        print(cluster.address)
        print(f"use: python -m search.run --address {cluster.address} "
              "--storage /a/shared/folder ...", file=sys.stderr)
    else:
        cluster = LocalCluster.load(args.state)
        stopped = down(cluster)
        args.state.unlink()
        print(f"stopped {stopped} processes of the cluster at {cluster.address}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
