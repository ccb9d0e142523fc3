"""What a search prints while it runs: one compact table of its trials and a progress line,
through Ray Tune's ProgressReporter hook (`--verbose` gives Tune's own output back).

On a terminal the table is redrawn in place whenever a trial starts, reports an epoch or ends;
into a file or a pipe, the progress line is written at each change and the table whenever a
trial starts or ends, so that a log stays readable.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

from ray.tune import ProgressReporter
from ray.tune.experiment import Trial

STATUS = {Trial.PENDING: "pending", Trial.RUNNING: "running", Trial.PAUSED: "waiting",
          Trial.TERMINATED: "done", Trial.ERROR: "error"}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class SearchConsole(ProgressReporter):
    """A compact live view of one Tune run (the search, or the refit of its winners)."""

    def __init__(self, title: str, metric: str, mode: str, total: int,
                 net_of: Callable[[dict], str], max_epochs: int) -> None:
        self.title, self.metric, self.mode, self.total = title, metric, mode, total
        self.net_of, self.max_epochs = net_of, max_epochs
        self.setup()

    # Tune pickles the reporter with the run (tuner.pkl): the stream is looked up when used.
    @property
    def stream(self):
        return sys.stdout

    def setup(self, start_time=None, total_samples=None, metric=None, mode=None, **kwargs):
        """Called as a run starts or resumes."""
        if total_samples:
            self.total = max(self.total, total_samples)
        self.live = self.stream.isatty()
        self._seen: tuple = ()
        self._statuses: tuple = ()
        self._drawn = 0
        self._start = time.monotonic()

    def should_report(self, trials: list[Trial], done: bool = False) -> bool:
        """Whether a trial started, reported an epoch or ended since the last report (the end
        of the run is no news by itself: its last change was shown)."""
        seen = tuple((t.trial_id, t.status, self._epochs(t)) for t in trials)
        changed = seen != self._seen
        self._seen = seen
        return changed

    def _epochs(self, trial: Trial) -> int:
        return int((trial.last_result or {}).get("training_iteration", 0))

    def _best(self, trial: Trial):
        values = trial.metric_analysis.get(self.metric, {})
        return values.get(self.mode)

    def rows(self, trials: list[Trial]) -> list[list[str]]:
        rows = []
        for trial in trials:
            last = trial.last_result or {}
            status = STATUS.get(trial.status, trial.status.lower())
            if last.get("diverged") == 1:
                status = "diverged"
            elif trial.status == Trial.TERMINATED and self._epochs(trial) < self.max_epochs:
                status = "stopped"
            rows.append([trial.trial_id, self.net_of(trial.config), status,
                         f"{self._epochs(trial)}/{trial.config.get('max_epochs', self.max_epochs)}",
                         _fmt(last.get(self.metric)), _fmt(self._best(trial))])
        return rows

    def progress(self, trials: list[Trial]) -> str:
        ended = sum(t.status in (Trial.TERMINATED, Trial.ERROR) for t in trials)
        epochs = sum(self._epochs(t) for t in trials)
        pick = max if self.mode == "max" else min
        scored = [(self._best(t), t.trial_id) for t in trials if self._best(t) is not None]
        best = pick(scored) if scored else None
        text = (f"{self.title}: {ended}/{self.total} trials done, {epochs} epochs, "
                f"{_duration(time.monotonic() - self._start)}")
        if best is not None:
            text += f", best {self.metric} {best[0]:.4f} (trial {best[1]})"
        return text

    def table(self, trials: list[Trial]) -> list[str]:
        header = ["trial", "net", "status", "epochs", self.metric, "best"]
        rows = self.rows(trials)
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                for row in [header, *rows]]

    def report(self, trials: list[Trial], done: bool, *sys_info) -> None:
        statuses = tuple((t.trial_id, t.status) for t in trials)
        lines = [self.progress(trials)]
        if self.live:
            lines = self.table(trials) + lines
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # back over the last drawing
            self._drawn = len(lines)
        elif statuses != self._statuses or done:
            lines = self.table(trials) + lines
        self._statuses = statuses
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        if done:
            self._drawn = 0
