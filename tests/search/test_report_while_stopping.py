"""The report is written while Ray shuts down, and its errors still reach the user after it."""

import subprocess
import sys
import threading
import time

import pytest

import search.run as run
from trainables.errors import UserError


def test_the_report_is_written_while_ray_stops(monkeypatch):
    events = []
    report_started = threading.Event()

    def write_report(experiment):
        events.append(("report", threading.current_thread() is threading.main_thread()))
        report_started.set()
        return f"report of {experiment}"

    def stop():
        # Ray's shutdown waits for its processes; the report must not wait for it.
        assert report_started.wait(5), "the report waited for Ray's shutdown"
        time.sleep(0.05)
        events.append(("stopped", threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(run, "write_report", write_report)
    assert run.report_while_stopping("/tmp/exp", stop) == "report of /tmp/exp"
    assert events == [("report", False), ("stopped", True)]


def test_a_failed_report_is_raised_once_ray_has_stopped(monkeypatch):
    stopped = []

    def write_report(experiment):
        raise UserError(f"{experiment}: no Ray Tune experiment state yet")

    monkeypatch.setattr(run, "write_report", write_report)
    with pytest.raises(UserError, match="no Ray Tune experiment state"):
        run.report_while_stopping("/tmp/exp", lambda: stopped.append(True))
    assert stopped == [True]


RAY_HANDLES_FREED_IN_THE_REPORT_THREAD = """
import sys, time
import ray
import search.run as run
from cluster.runtime import start_ray, stop_ray

start_ray(None, dashboard=False)
first = ray.put(0)
refs = [ray.ObjectRef(first.binary()) for _ in range(20000)]  # handles, each counted by Ray

def write_report(experiment):
    # Ray handles become cyclic garbage all along Ray's shutdown, and the thread allocates
    # enough for the collector to run after each one: freed here, they would end the process.
    deadline = time.monotonic() + 3
    while refs and time.monotonic() < deadline:
        cycle = [refs.pop()]
        cycle.append(cycle)
        del cycle
        [[] for _ in range(800)]
        time.sleep(0.0002)
    return "report"

run.write_report = write_report
assert run.report_while_stopping(sys.argv[1], stop_ray) == "report"
print("survived the shutdown")
"""


def test_ray_handles_freed_while_ray_stops_do_not_end_the_process(tmp_path):
    # Ray ends a process at once, silently (exit 1), if another thread frees one of its handles
    # while ray.shutdown runs; this once took the whole test session with it.
    result = subprocess.run([sys.executable, "-c", RAY_HANDLES_FREED_IN_THE_REPORT_THREAD,
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived the shutdown" in result.stdout
