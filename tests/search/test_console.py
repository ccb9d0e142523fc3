"""The search's console: one compact table of the trials and a progress line."""

import io
from types import SimpleNamespace

from ray.tune.experiment import Trial

from search import console as console_module
from search.console import SearchConsole


def _trial(trial_id, status, epochs=0, value=None, best=None, model="edsr", **last):
    result = {"training_iteration": epochs, **last} if epochs else {}
    if value is not None:
        result["val_psnr"] = value
    return SimpleNamespace(trial_id=trial_id, status=status, last_result=result,
                           config={"model": model},
                           metric_analysis={"val_psnr": {"max": best}} if best else {})


def _console(monkeypatch, tty=False):
    stream = io.StringIO()
    stream.isatty = lambda: tty
    monkeypatch.setattr(console_module.sys, "stdout", stream)
    return SearchConsole("search", "val_psnr", "max", 4, lambda c: c["model"], 8), stream


def test_the_table_shows_each_trials_net_status_epochs_metric_and_best(monkeypatch):
    console, stream = _console(monkeypatch)
    trials = [_trial("a1", Trial.TERMINATED, 8, 35.2, 35.5),
              _trial("b2", Trial.TERMINATED, 4, 30.1, 31.0, model="srcnn"),
              _trial("c3", Trial.RUNNING, 2, 33.3, 33.3),
              _trial("d4", Trial.TERMINATED, 3, 20.0, 21.0, diverged=1),
              _trial("e5", Trial.PENDING)]
    assert console.should_report(trials)
    console.report(trials, False)
    lines = stream.getvalue().splitlines()
    assert lines[0].split() == ["trial", "net", "status", "epochs", "val_psnr", "best"]
    assert lines[1].split() == ["a1", "edsr", "done", "8/8", "35.2000", "35.5000"]
    assert lines[2].split() == ["b2", "srcnn", "stopped", "4/8", "30.1000", "31.0000"]
    assert lines[3].split()[2] == "running" and lines[4].split()[2] == "diverged"
    assert lines[5].split() == ["e5", "edsr", "pending", "0/8", "-", "-"]
    assert lines[6].startswith("search: 3/4 trials done, 17 epochs, ")
    assert lines[6].endswith("best val_psnr 35.5000 (trial a1)")


def test_it_reports_only_when_something_changed_and_keeps_a_log_short(monkeypatch):
    console, stream = _console(monkeypatch)
    running = [_trial("a1", Trial.RUNNING, 1, 30.0, 30.0)]
    assert console.should_report(running)
    console.report(running, False)
    assert not console.should_report(running)  # nothing new
    one_more = [_trial("a1", Trial.RUNNING, 2, 31.0, 31.0)]
    assert console.should_report(one_more)
    console.report(one_more, False)
    # Into a file: an epoch adds the progress line only; a trial ending redraws the table.
    assert stream.getvalue().count("trial  net") == 1
    ended = [_trial("a1", Trial.TERMINATED, 8, 35.0, 35.0)]
    assert console.should_report(ended)
    console.report(ended, False)
    assert stream.getvalue().count("trial  net") == 2
    assert not console.should_report(ended, done=True)  # the run's end repeats nothing


def test_on_a_terminal_the_table_is_redrawn_in_place(monkeypatch):
    console, stream = _console(monkeypatch, tty=True)
    trials = [_trial("a1", Trial.RUNNING, 1, 30.0, 30.0)]
    console.report(trials, False)
    console.report([_trial("a1", Trial.RUNNING, 2, 31.0, 31.0)], False)
    assert "\x1b[3F\x1b[J" in stream.getvalue()  # back over the header, the row and progress
