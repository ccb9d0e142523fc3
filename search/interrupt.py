"""Ctrl-C during a search, passed on to Ray Tune once no trial's checkpoint is being saved.

Tune ends a run at the first SIGINT and saves its state one last time. A trial's epoch is in
that state (its result.json line, the scheduler's rungs) as soon as Tune has processed its
result, but its checkpoint only once the save that Tune then asks of the trial has returned.
Interrupted in between, the resumed trial went back to its previous checkpoint and trained that
epoch again, and a PAUSE that Tune held back for the save was saved with the state
(search/checkpoint_repair.py). The resume test interrupts right after a result, and met both.

Here the first Ctrl-C reaches Tune's handler at the end of the first step of Tune's loop with no
save in flight (milliseconds later, HOLD_LIMIT_S at most). A second Ctrl-C is passed on at once,
and a third ends the run without its last save, as Tune has it.
"""

from __future__ import annotations

import signal
import threading
import time

from ray.tune import Callback

HOLD_LIMIT_S = 10.0


class InterruptBetweenSaves(Callback):
    """Holds the first SIGINT of a run until no trial is saving a checkpoint."""

    def __init__(self) -> None:
        self._passed_on_handler = None  # Tune's, while this one stands in for it
        self._held_since: float | None = None
        self._done = False

    def on_step_begin(self, iteration: int, trials: list, **info) -> None:
        # Tune installs its handler when the run starts; signals are only the main thread's.
        if self._done or self._passed_on_handler is not None:
            return
        handler = signal.getsignal(signal.SIGINT)
        # Only a Python handler is stood in for (SIG_IGN or SIG_DFL is left to do as it does).
        if threading.current_thread() is not threading.main_thread() or not callable(handler):
            self._done = True
            return
        self._passed_on_handler = handler
        signal.signal(signal.SIGINT, self._hold)

    def _hold(self, signum: int, frame) -> None:
        if self._held_since is not None:  # pressed again: no more waiting
            self._pass_on(frame)
        else:
            self._held_since = time.monotonic()

    def on_step_end(self, iteration: int, trials: list, **info) -> None:
        if self._held_since is None:
            return
        if (not any(trial.is_saving for trial in trials)
                or time.monotonic() - self._held_since > HOLD_LIMIT_S):
            self._pass_on(None)

    def _pass_on(self, frame) -> None:
        self._stand_down()(signal.SIGINT, frame)

    def _stand_down(self):
        """Put back the handler this one stood in for; it, or None if none was taken."""
        handler, self._passed_on_handler = self._passed_on_handler, None
        self._held_since, self._done = None, True
        if handler is not None and signal.getsignal(signal.SIGINT) == self._hold:
            signal.signal(signal.SIGINT, handler)
        return handler

    def on_experiment_end(self, trials: list, **info) -> None:
        self._stand_down()
