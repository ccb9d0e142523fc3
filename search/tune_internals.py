"""Every private name of Ray Tune and Optuna that lenstune reaches for, in one place.

Each was read in, and is tested against (tests/search/test_tune_internals.py), the versions
below: an upgrade that renames or drops one fails that test by name instead of a search
misbehaving. Why each is needed is said beside it; none has a public equivalent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.train._internal.checkpoint_manager import _CheckpointManager as CheckpointManager
from ray.train._internal.checkpoint_manager import _TrainingResult as TrainingResult
from ray.tune.execution.experiment_state import (
    _find_newest_experiment_checkpoint as find_newest_experiment_checkpoint,
)
from ray.tune.trainable.metadata import _TrainingRunMetadata as TrainingRunMetadata

if TYPE_CHECKING:
    import optuna
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

CHECKED_AGAINST = {"ray": "2.60.0", "optuna": "5.0.0"}

__all__ = ["CHECKED_AGAINST", "CheckpointManager", "HELD_DECISIONS", "QUIET_TRIAL_LOGGERS",
           "RESTORE_FROM_REMOTE", "TrainingResult", "TrainingRunMetadata", "asha_rungs",
           "checkpoint_results",
           "completed_trials", "find_newest_experiment_checkpoint", "frozen_trial_id",
           "latest_checkpoint_result", "live_trial_id", "mark_trial_to_checkpoint", "optuna_study",
           "optuna_trials", "set_asha_rungs", "set_checkpoint_results"]

HELD_DECISIONS = ("_cached_trial_decisions", "_queued_trial_decisions")
"""TuneController's decisions awaiting a trial's save, by trial id, saved with its state in
`runner_data` (search.checkpoint_repair drops those of a dead run)."""

QUIET_TRIAL_LOGGERS = ("ray.train._internal.storage",)
"""Loggers of a trial worker whose INFO lines are noise on a search's console ("Checkpoint
successfully created at ..." for every trial and epoch)."""

RESTORE_FROM_REMOTE = "_restore_from_remote"
"""The method of Ray's result-file loggers that copies a trial's file back from storage when
the trial restarts (search.result_files keeps the driver's newer copy)."""


# ---- Ray's ASHAScheduler: its rungs, saved with the searcher so that --resume keeps them ----

def asha_rungs(scheduler: ASHAScheduler) -> list[list]:
    """Per bracket, its rungs: (milestone, {trial id: score}) pairs, filled as trials arrive."""
    return [bracket._rungs for bracket in scheduler._brackets]


def set_asha_rungs(scheduler: ASHAScheduler, rungs: list[list]) -> None:
    for bracket, bracket_rungs in zip(scheduler._brackets, rungs):
        bracket._rungs = bracket_rungs


# ---- Ray's OptunaSearch: the Optuna trial behind each Tune trial, to tell it PRUNED ----

def optuna_trials(searcher: OptunaSearch) -> dict[str, optuna.Trial]:
    """Tune trial id -> its live Optuna trial."""
    return searcher._ot_trials


def optuna_study(searcher: OptunaSearch) -> optuna.Study:
    return searcher._ot_study


def completed_trials(searcher: OptunaSearch) -> set[str]:
    """Tune trial ids OptunaSearch has already told the study the end of."""
    return searcher._completed_trials


def frozen_trial_id(frozen: optuna.trial.FrozenTrial) -> int:
    """The storage's id of a study's trial (what optuna.Trial._trial_id holds too)."""
    return frozen._trial_id


def live_trial_id(trial: optuna.Trial) -> int:
    return trial._trial_id


# ---- Tune's controller: a trial stopped while paused must be saved as stopped ----

def mark_trial_to_checkpoint(tune_controller, trial) -> None:
    """Have the experiment's next snapshot record `trial` (stop_trial of a trial without an
    actor does not)."""
    controller = getattr(tune_controller, "_tune_controller", tune_controller)
    controller._mark_trial_to_checkpoint(trial)


# ---- A trial's saved checkpoint record, to strike checkpoints gone from storage ----

def latest_checkpoint_result(manager: CheckpointManager) -> TrainingResult | None:
    return manager._latest_checkpoint_result


def checkpoint_results(manager: CheckpointManager) -> list[TrainingResult]:
    return manager._checkpoint_results


def set_checkpoint_results(manager: CheckpointManager, kept: list[TrainingResult],
                           latest: TrainingResult | None) -> None:
    manager._checkpoint_results = kept
    manager._latest_checkpoint_result = latest
