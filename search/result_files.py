"""Ray Tune's result.json / progress.csv loggers, without losing lines when a trial is retried.

When a trial restarts from a checkpoint (a crash retried under `max_failures`), Ray's logger
callbacks first copy the trial's result file from the storage path over the driver's own copy,
so that a search resumed in a new session continues its files. Within one session that copy is
the driver's own file as of the last sync of the experiment folder (every few minutes), so the
lines written since then are lost: a retried trial's result.json could lack its first epochs,
and the report and the benchmarks read result.json. Here the remote copy is fetched only when
the driver has no file of its own for the trial (a resumed search: a new session's staging
folder), as Ray intends.
"""

from __future__ import annotations

from pathlib import Path

from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from search.tune_internals import RESTORE_FROM_REMOTE


class _KeepLocal:
    def _fetch_unless_written_here(self, file_name: str, trial) -> None:
        if Path(trial.local_path, file_name).exists():
            return  # written by this driver, and at least as new as the synced copy
        getattr(super(), RESTORE_FROM_REMOTE)(file_name, trial)


# Ray calls the hook by its private name (kept with the others in search.tune_internals).
setattr(_KeepLocal, RESTORE_FROM_REMOTE, _KeepLocal._fetch_unless_written_here)


class JsonResults(_KeepLocal, JsonLoggerCallback):
    """result.json, one JSON line per reported result."""


class CsvResults(_KeepLocal, CSVLoggerCallback):
    """progress.csv, one row per reported result."""
