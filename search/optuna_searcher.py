"""Ray Tune's OptunaSearch, telling Optuna the truth about trials that ASHA stopped early."""

from __future__ import annotations

import warnings

import optuna
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch


class PruningAwareOptunaSearch(OptunaSearch):
    """Reports a trial stopped before `max_t` as PRUNED rather than COMPLETE.

    Ray's OptunaSearch tells Optuna every finished trial is COMPLETE with its last value, so TPE
    takes a one-epoch score for a full run. A PRUNED trial keeps its per-epoch intermediate
    values (reported by on_trial_result) and TPE ranks it as the partial run it is.
    """

    def __init__(self, *args, max_t: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._max_t = max_t

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        stopped_early = (
            not error and result is not None
            and result.get(TRAINING_ITERATION, self._max_t) < self._max_t
            and trial_id in self._ot_trials and trial_id not in self._completed_trials
        )
        if not stopped_early:
            return super().on_trial_complete(trial_id, result, error)
        # With no value given, Optuna records the last intermediate value for a pruned trial.
        self._ot_study.tell(self._ot_trials[trial_id], state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)


def tpe_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Multivariate, grouped TPE for conditional spaces; constant liar for concurrent trials."""
    with warnings.catch_warnings():
        # `group` and `constant_liar` are marked experimental; both are what this search needs.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )
