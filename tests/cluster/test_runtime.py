import os
import subprocess
import sys
import time

import psutil
import pytest

from cluster import runtime
from trainables import precision
from trainables.errors import UserError


def _nodes(*addresses):
    return lambda: [{"NodeManagerAddress": a, "Alive": True} for a in addresses]


def test_node_local_storage_is_refused_on_a_cluster_of_several_machines(monkeypatch, tmp_path):
    monkeypatch.setattr(runtime.ray, "nodes", _nodes("10.0.0.1", "10.0.0.2"))
    with pytest.raises(UserError, match="node-local folder .* 2 machines"):
        runtime.check_storage_reachable(str(tmp_path))
    runtime.check_storage_reachable("s3://bucket/lenstune")  # a URI every node reaches
    monkeypatch.setattr(runtime, "filesystem_type", lambda path: "nfs4")
    runtime.check_storage_reachable(str(tmp_path))  # a shared filesystem


def test_one_machine_may_use_a_local_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(runtime.ray, "nodes", _nodes("127.0.0.1", "127.0.0.1"))
    runtime.check_storage_reachable(str(tmp_path))


def test_filesystem_type_of_a_local_folder(tmp_path):
    assert runtime.filesystem_type(str(tmp_path)) not in runtime.NETWORK_FILESYSTEMS


def _idle_workers() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info["cmdline"] or [""]
        # A worker still starting runs default_worker.py; a started one is titled ray::IDLE.
        if argv[0].startswith("ray::IDLE") or (
                "python" in argv[0] and any(a.endswith("default_worker.py") for a in argv[1:3])):
            found.append(proc)
    return found


def test_a_local_runtime_starts_no_idle_workers_and_its_workers_keep_freed_memory():
    before = {key: os.environ.get(key) for key in runtime.LOCAL_RUNTIME_ENV}
    runtime.start_ray(None, dashboard=False)
    try:
        # Only the runtime's processes get its settings, not this one.
        assert {key: os.environ.get(key) for key in runtime.LOCAL_RUNTIME_ENV} == before
        time.sleep(4)  # Ray prestarts its idle workers within a second or two of the driver
        assert [" ".join(p.cmdline())[:120] for p in _idle_workers()] == []
        # Work that does need a worker still gets one, which keeps freed memory in its heap.
        env = runtime.ray.get(runtime.ray.remote(lambda: dict(os.environ)).remote())
        assert env["GLIBC_TUNABLES"] == runtime.MALLOC_TUNABLES
    finally:
        runtime.stop_ray()


def test_a_local_runtime_keeps_token_authentication_on_without_ray_saying_so():
    # In a fresh process: Ray sets RAY_AUTH_MODE in its own process at the first ray.init.
    code = ("from cluster import runtime; runtime.start_ray(None, dashboard=False); "
            "from ray._raylet import AuthenticationMode, get_authentication_mode; "
            "assert get_authentication_mode() == AuthenticationMode.TOKEN; runtime.stop_ray()")
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Token authentication is enabled" not in done.stderr + done.stdout


def test_a_runtime_the_process_already_has_is_used_and_left_running():
    runtime.ray.init(num_cpus=1, include_dashboard=False)  # a notebook's own
    try:
        assert runtime.runtime_started_in_this_process()  # no autoscaler: a misfit is refused
        assert runtime.start_ray(None, dashboard=False) is None
        runtime.stop_ray()
        assert runtime.ray.is_initialized()
        with pytest.raises(UserError, match="--address auto: this process is already connected"):
            runtime.start_ray("auto")
    finally:
        runtime.ray.shutdown()
    assert not runtime.ray.is_initialized()


def _resources(*nodes):
    return lambda: [{"Resources": r, "Alive": True} for r in nodes] + [
        {"Resources": {"CPU": 64.0, "GPU": 8.0}, "Alive": False}]  # a dead node counts for none


def test_a_trial_no_node_can_hold_is_refused_locally_and_warned_of_on_a_cluster(monkeypatch,
                                                                                capsys):
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: True)
    monkeypatch.setattr(runtime.ray, "nodes", _resources({"CPU": 2.0}))
    runtime.check_trial_fits(2, 0)
    with pytest.raises(UserError, match="gpus-per-trial 0.25: this machine's Ray runtime has "
                                        "2 CPUs and 0 GPUs, so no trial could start"):
        runtime.check_trial_fits(1, 0.25)
    with pytest.raises(UserError, match="--cpus-per-trial 4 "):
        runtime.check_trial_fits(4, 0)
    with pytest.raises(UserError, match=r"0.25 \(the resumed search's\): this machine"):
        runtime.check_trial_fits(1, 0.25, resumed=True)
    # A runtime this process joined (a cluster; tests/cluster/test_local_cluster.py joins a real
    # one): warned of, since an autoscaler may add a node. CPUs on one node and a GPU on
    # another do not hold one trial either.
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: False)
    monkeypatch.setattr(runtime.ray, "nodes", _resources({"CPU": 8.0}, {"CPU": 1.0, "GPU": 1.0}))
    runtime.check_trial_fits(2, 0.5)
    assert "at most 8 CPUs and 1 GPUs on a node" in capsys.readouterr().err
    runtime.check_trial_fits(1, 0.5)
    assert capsys.readouterr().err == ""


def test_a_concurrency_the_local_runtime_cannot_hold_is_noted(monkeypatch, capsys):
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: True)
    monkeypatch.setattr(runtime.ray, "nodes", _resources({"CPU": 2.0}))
    runtime.check_concurrency_fits(2, 1, 0)
    runtime.check_concurrency_fits(4, 0.5, 0)
    runtime.check_concurrency_fits(4, 1, 0, trials=2)  # a search of 2 trials runs them at once
    assert capsys.readouterr().err == ""
    runtime.check_concurrency_fits(4, 1, 0)
    assert ("note: --concurrency 4: this machine's Ray runtime (2 CPUs) holds 2 trial(s) of "
            "--cpus-per-trial 1 --gpus-per-trial 0 at once") in capsys.readouterr().err
    monkeypatch.setattr(runtime.ray, "nodes", _resources({"CPU": 16.0, "GPU": 1.0}))
    runtime.check_concurrency_fits(4, 2, 0.25)
    assert capsys.readouterr().err == ""
    runtime.check_concurrency_fits(8, 2, 0.25)
    assert "(16 CPUs and 1 GPUs) holds 4 trial(s)" in capsys.readouterr().err
    # A joined cluster may grow: not judged.
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: False)
    runtime.check_concurrency_fits(64, 2, 0.25)
    assert capsys.readouterr().err == ""


def test_bf16_on_a_cpu_that_only_emulates_it_is_noted(monkeypatch, capsys):
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: True)
    monkeypatch.setattr(precision, "has_bf16_units", lambda device="cpu": False)
    runtime.check_precision_pays("fp32", 0)
    runtime.check_precision_pays("bf16", 0.5)  # a GPU trial's bf16 is not the CPU's
    assert capsys.readouterr().err == ""
    runtime.check_precision_pays("bf16", 0)
    assert ("note: --precision bf16: this machine's CPU has no bf16 units (AVX512-BF16, AMX)"
            in capsys.readouterr().err)
    monkeypatch.setattr(precision, "has_bf16_units", lambda device="cpu": True)
    runtime.check_precision_pays("bf16", 0)
    # A joined cluster's nodes may be other CPUs than the driver's: not judged.
    monkeypatch.setattr(precision, "has_bf16_units", lambda device="cpu": False)
    monkeypatch.setattr(runtime, "runtime_started_in_this_process", lambda: False)
    runtime.check_precision_pays("bf16", 0)
    assert capsys.readouterr().err == ""


def test_trials_at_once_counts_per_node():
    nodes = [{"CPU": 8.0, "GPU": 1.0}, {"CPU": 3.0}, {"CPU": 0.9}]
    assert runtime.trials_at_once(nodes, 1, 0) == 11
    assert runtime.trials_at_once(nodes, 2, 0.5) == 2  # the GPU node only
    assert runtime.trials_at_once(nodes, 0.3, 0) == 26 + 10 + 3
