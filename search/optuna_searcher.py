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
        if trial_id not in self._ot_trials or trial_id in self._completed_trials:
            return super().on_trial_complete(trial_id, result, error)
        step = (result or {}).get(TRAINING_ITERATION)
        if not error and step is not None and self.metric in result:
            # Tune hands the last result to on_trial_complete only, not to on_trial_result:
            # record it too, so the study holds every epoch of the trial.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # already reported: Optuna keeps the first
                self._ot_trials[trial_id].report(result[self.metric], step)
        if error or step is None or step >= self._max_t:
            return super().on_trial_complete(trial_id, result, error)
        # With no value given, Optuna records the last intermediate value for a pruned trial.
        self._ot_study.tell(self._ot_trials[trial_id], state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)

    def restore(self, checkpoint_path: str):
        super().restore(checkpoint_path)
        # A trial asked of Optuna after Tune's last snapshot has no Tune trial to finish it:
        # close it as FAIL so a resumed study never holds a phantom RUNNING trial.
        known = {t._trial_id for t in self._ot_trials.values()}
        for frozen in self._ot_study.get_trials(deepcopy=False,
                                                states=(optuna.trial.TrialState.RUNNING,)):
            if frozen._trial_id not in known:
                self._ot_study.tell(frozen.number, state=optuna.trial.TrialState.FAIL)


def tpe_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Multivariate, grouped TPE for conditional spaces; constant liar for concurrent trials."""
    with warnings.catch_warnings():
        # `group` and `constant_liar` are marked experimental; both are what this search needs.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )
