"""Start a local Ray runtime or connect to a running cluster."""

from __future__ import annotations

import logging
import os
import sys

import psutil
import ray

from cluster.auth import prepare_to_join
from trainables.errors import UserError

MALLOC_TUNABLES = ("glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0"
                   ":glibc.malloc.trim_threshold=4294967295")
"""One arena, no mmap'd chunks, no trimming: freed tensor memory stays in the heap for the next
step (with several arenas a large tensor outgrows the thread's 64 MiB heaps, and the page faults
stay)."""

LOCAL_RUNTIME_ENV = {
    # A new runtime starts one idle worker per CPU for the first driver, which no trial takes
    # (Tune starts trial actors with a runtime_env of their own): memory and start-up for nothing.
    "RAY_prestart_worker_first_driver": "0",
    # Workers inherit the raylet's environment. glibc serves each large tensor from fresh
    # mmap'd pages and unmaps them when freed, so a CPU trial spent 7 % of its time page-faulting;
    # kept in the heap, the same memory is reused.
    "GLIBC_TUNABLES": MALLOC_TUNABLES,
}
"""Environment of a local runtime's processes, set while `ray.init` starts them."""


class _NoTokenAuthNotice(logging.Filter):
    """Drops Ray's notice that token authentication is on (each `ray.init`, "Set RAY_AUTH_MODE
    =disabled to opt out"): lenstune keeps it on by design (README, Security defaults). Ray's
    warning that authentication is *off* still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled")


TOKEN_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"

_started_here = False
"""Whether start_ray started (or connected) the runtime this process is on, for stop_ray."""


def start_ray(address: str | None, dashboard: bool = True) -> str | None:
    """Connect to `address` (auto, HOST:PORT, ray://HOST:10001) or start a local runtime.

    A runtime this process already has (a notebook's `ray.init()`) is used as it is, and
    stop_ray leaves it running. The local dashboard binds to 127.0.0.1 only. Returns the
    dashboard URL of a runtime started here, if it has one.
    """
    global _started_here
    if ray.is_initialized():
        if address is not None:
            raise UserError(f"--address {address}: this process is already connected to Ray "
                            "(ray.init was called before); leave --address out to search on "
                            "that runtime, or call ray.shutdown() first")
        _started_here = False
        return None
    if address is not None:
        prepare_to_join(address)
    kwargs = {"address": address, "logging_level": logging.WARNING, "log_to_driver": True}
    if address is None:
        kwargs |= {"include_dashboard": dashboard, "dashboard_host": "127.0.0.1"}
    # For the runtime's own processes only (the raylet, and through it every worker), unless
    # the environment already sets them; this process's environment is left as it was.
    runtime_env = {} if address is not None else {
        key: value for key, value in LOCAL_RUNTIME_ENV.items() if key not in os.environ}
    os.environ.update(runtime_env)
    notice = _NoTokenAuthNotice()
    logging.getLogger(TOKEN_AUTH_LOGGER).addFilter(notice)
    try:
        context = ray.init(**kwargs)
    except (ConnectionError, ValueError) as exc:
        raise UserError(f"--address {address}: cannot connect to Ray ({exc})") from None
    finally:
        logging.getLogger(TOKEN_AUTH_LOGGER).removeFilter(notice)
        for key in runtime_env:
            del os.environ[key]
    _started_here = True
    return getattr(context, "dashboard_url", None) or None


def stop_ray() -> None:
    """Shut down the runtime start_ray started; one it found running is left as it was."""
    global _started_here
    if _started_here and ray.is_initialized():
        ray.shutdown()
    _started_here = False


NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "ceph",
                       "glusterfs", "beegfs", "fuse.sshfs", "fuse.juicefs", "fuse.gcsfuse",
                       "fuse.s3fs", "fuse.mount-s3", "9p", "virtiofs"}


def filesystem_type(path: str) -> str:
    """The type of the filesystem holding `path` (the mount with the longest matching prefix)."""
    path = os.path.realpath(path)
    best, kind = "", ""
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint.rstrip("/") or "/"
        if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) > len(best):
            best, kind = mount, part.fstype
    return kind


def check_storage_reachable(storage: str) -> None:
    """Since Ray 2.7, Tune needs storage that every node reaches: refuse a node-local folder on a
    cluster of several machines (a URI or a shared network filesystem is fine)."""
    if "://" in storage:
        return
    machines = {node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]}
    if len(machines) <= 1:
        return  # one machine: a local folder is shared by all its nodes
    kind = filesystem_type(storage)
    if kind in NETWORK_FILESYSTEMS or kind.startswith("fuse."):
        return
    raise UserError(
        f"--storage {storage}: a node-local folder ({kind or 'unknown'} filesystem) on a cluster "
        f"of {len(machines)} machines; Ray Tune needs storage every node can reach: give a "
        "shared filesystem path (NFS, Lustre...) or a URI (s3://, gs://)")


def runtime_started_in_this_process() -> bool:
    """Whether this process's Ray runtime was started by its own `ray.init` (lenstune's, or a
    notebook's), rather than joined: a cluster (`--address`, RAY_ADDRESS, a running `ray
    start`) or Ray Client. Only a runtime of one's own is known to have no autoscaler."""
    node = getattr(ray._private.worker, "_global_node", None)  # None under Ray Client
    return bool(getattr(node, "head", False))


def alive_node_resources() -> list[dict]:
    """Each live node's resources ({"CPU": 8.0, "GPU": 1.0, ...})."""
    return [node["Resources"] for node in ray.nodes() if node["Alive"]]


def trials_at_once(nodes: list[dict], cpus: float, gpus: float) -> int:
    """How many trials of `cpus` and `gpus` the nodes' resources hold side by side."""
    def per_node(r: dict) -> int:
        fits = [int(r.get("CPU", 0) / cpus + 1e-9)]
        if gpus > 0:
            fits.append(int(r.get("GPU", 0) / gpus + 1e-9))
        return min(fits)

    return sum(per_node(r) for r in nodes)


def check_concurrency_fits(concurrency: int, cpus: float, gpus: float,
                           trials: int | None = None) -> None:
    """Say so when this process's own runtime holds fewer trials at once than --concurrency
    (or than the search's `trials`, if fewer): the rest wait, proposed by the sampler before the
    running ones have reported (a cluster's autoscaler may add nodes, so a joined runtime is not
    judged)."""
    if not runtime_started_in_this_process():
        return
    nodes = alive_node_resources()
    fits = trials_at_once(nodes, cpus, gpus)
    if 0 < fits < min(concurrency, trials or concurrency):
        have = f"{sum(r.get('CPU', 0) for r in nodes):g} CPUs"
        if gpus > 0:
            have += f" and {sum(r.get('GPU', 0) for r in nodes):g} GPUs"
        print(f"note: --concurrency {concurrency}: this machine's Ray runtime ({have}) holds "
              f"{fits} trial(s) of --cpus-per-trial {cpus:g} --gpus-per-trial {gpus:g} at once; "
              "the others wait their turn", file=sys.stderr, flush=True)


def check_precision_pays(precision: str, gpus: float) -> None:
    """Say so when CPU trials of this process's own runtime are to train in bf16 on a CPU that
    only emulates it (10-40x slower than fp32, measured). A GPU's bf16 is the trial's to judge:
    asking here would start CUDA in the driver; a joined cluster's nodes may be other CPUs."""
    from trainables.precision import has_bf16_units

    if precision != "bf16" or gpus > 0 or not runtime_started_in_this_process():
        return
    if not has_bf16_units("cpu"):
        print("note: --precision bf16: this machine's CPU has no bf16 units (AVX512-BF16, AMX), "
              "so it emulates bf16 and the trials train many times slower than in fp32",
              file=sys.stderr, flush=True)


def check_trial_fits(cpus: float, gpus: float, resumed: bool = False) -> None:
    """A trial asking for more than any node has would wait for ever (Ray Tune only warns,
    once a minute). Refuse it on a runtime this process started; on one it joined, warn, since
    an autoscaler may yet add a node that fits. `resumed`: the request is a resumed search's
    own."""
    nodes = alive_node_resources()
    if any(r.get("CPU", 0) >= cpus and r.get("GPU", 0) >= gpus for r in nodes):
        return
    most_cpus = max((r.get("CPU", 0) for r in nodes), default=0)
    most_gpus = max((r.get("GPU", 0) for r in nodes), default=0)
    asked = f"--cpus-per-trial {cpus:g} --gpus-per-trial {gpus:g}"
    if resumed:
        asked += " (the resumed search's)"
    if runtime_started_in_this_process():
        raise UserError(
            f"{asked}: this machine's Ray runtime has {most_cpus:g} CPUs and {most_gpus:g} GPUs, "
            "so no trial could start; ask for less (--gpus-per-trial 0 trains on the CPU)")
    print(f"warning: {asked}: no node of the cluster has that much now (at most {most_cpus:g} "
          f"CPUs and {most_gpus:g} GPUs on a node); trials wait until an autoscaler adds one",
          file=sys.stderr, flush=True)
