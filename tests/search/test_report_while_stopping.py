"""The report is written while Ray shuts down, and its errors still reach the user after it."""

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
