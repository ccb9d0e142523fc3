"""The first Ctrl-C of a search waits for the trials' checkpoint saves (the whole interrupted
and resumed search is in test_promotion_asha.py)."""

import os
import signal
from types import SimpleNamespace

import pytest

from search import interrupt
from search.interrupt import InterruptBetweenSaves


@pytest.fixture
def tune_handler():
    """A stand-in for the handler Tune installs for its run, put back afterwards."""
    calls = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    yield calls
    signal.signal(signal.SIGINT, before)


def _trials(*saving: bool):
    return [SimpleNamespace(is_saving=flag) for flag in saving]


def test_ctrl_c_reaches_tune_once_no_trial_is_saving(tune_handler):
    callback = InterruptBetweenSaves()
    callback.on_step_begin(0, _trials(False))
    os.kill(os.getpid(), signal.SIGINT)
    assert tune_handler == []
    callback.on_step_end(0, _trials(False, True))  # a checkpoint on its way: not yet
    assert tune_handler == []
    callback.on_step_end(1, _trials(False, False))
    assert tune_handler == [signal.SIGINT]
    os.kill(os.getpid(), signal.SIGINT)  # Tune's own handler again, at once
    assert tune_handler == [signal.SIGINT, signal.SIGINT]
    callback.on_step_begin(2, _trials(False))  # not taken over a second time
    os.kill(os.getpid(), signal.SIGINT)
    assert len(tune_handler) == 3


def test_a_second_ctrl_c_is_passed_on_at_once(tune_handler):
    callback = InterruptBetweenSaves()
    callback.on_step_begin(0, _trials(True))
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)
    assert tune_handler == [signal.SIGINT]


def test_a_save_that_does_not_return_holds_ctrl_c_for_a_while_only(tune_handler, monkeypatch):
    monkeypatch.setattr(interrupt, "HOLD_LIMIT_S", 0.0)
    callback = InterruptBetweenSaves()
    callback.on_step_begin(0, _trials(True))
    os.kill(os.getpid(), signal.SIGINT)
    callback.on_step_end(0, _trials(True))
    assert tune_handler == [signal.SIGINT]


def test_the_handler_is_put_back_when_the_run_ends(tune_handler):
    callback = InterruptBetweenSaves()
    callback.on_step_begin(0, _trials(False))
    callback.on_experiment_end([])
    os.kill(os.getpid(), signal.SIGINT)
    assert tune_handler == [signal.SIGINT]


def test_an_ignored_or_default_ctrl_c_is_left_as_it_is():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        callback = InterruptBetweenSaves()
        callback.on_step_begin(0, _trials(False))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
