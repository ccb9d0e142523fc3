"""Ray Tune's OptunaSearch, telling Optuna the truth about trials that ASHA stopped early."""

from __future__ import annotations

import warnings

import optuna
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch

from search.tune_internals import (
    completed_trials,
    frozen_trial_id,
    live_trial_id,
    optuna_study,
    optuna_trials,
)


class PruningAwareOptunaSearch(OptunaSearch):
    """Reports a trial stopped before `max_t` as PRUNED rather than COMPLETE.

    Ray's OptunaSearch tells Optuna every finished trial is COMPLETE with its last value, so TPE
    takes a one-epoch score for a full run. A PRUNED trial keeps its per-epoch intermediate
    values (reported by on_trial_result) and TPE ranks it as the partial run it is.
    """

    def __init__(self, *args, max_t: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._max_t = max_t
        self._pausing: set[str] = set()
        self._resumed: dict[str, dict[int, float]] = {}
        """Trials told PRUNED when first paused, and the values each reported since."""
        study = optuna_study(self)
        if study is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # optuna-dashboard then shows the metric by name, not as "Objective 0"
                study.set_metric_names([self.metric])

    def on_pause(self, trial_id: str) -> None:
        # Told PRUNED once this result is in (the scheduler decides before the searcher hears
        # of it), as if stopped there: a trial left RUNNING would count for TPE as the worst
        # of all (constant liar) and never toward its start-up trials.
        if trial_id in optuna_trials(self) and trial_id not in self._resumed:
            self._pausing.add(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._resumed:  # promoted after its study trial ended: keep its values
            self._resumed[trial_id][result[TRAINING_ITERATION]] = result[self.metric]
            return
        super().on_trial_result(trial_id, result)
        if trial_id in self._pausing:
            self._pausing.discard(trial_id)
            optuna_study(self).tell(optuna_trials(self)[trial_id],
                                    state=optuna.trial.TrialState.PRUNED)
            self._resumed[trial_id] = {}

    def _record_resumed(self, trial_id: str, result: dict | None, error: bool) -> None:
        """A promoted trial ends: add it to the study again, with the epochs it ran since."""
        values = self._resumed.pop(trial_id)
        step = (result or {}).get(TRAINING_ITERATION)
        if not error and step is not None and self.metric in result:
            values[step] = result[self.metric]
        if not values:  # stopped while it waited: the study has it as it is
            return
        first = optuna_study(self).get_trials(deepcopy=False)[optuna_trials(self)[trial_id].number]
        last = max(values)
        complete = not error and last >= self._max_t
        optuna_study(self).add_trial(optuna.trial.create_trial(
            params=first.params, distributions=first.distributions,
            value=values[last] if complete else None,
            state=optuna.trial.TrialState.COMPLETE if complete else (
                optuna.trial.TrialState.FAIL if error else optuna.trial.TrialState.PRUNED),
            intermediate_values=first.intermediate_values | values,
            user_attrs=first.user_attrs | {"continues_trial": first.number},
        ))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        self._pausing.discard(trial_id)
        if trial_id in self._resumed:
            return self._record_resumed(trial_id, result, error)
        if trial_id not in optuna_trials(self) or trial_id in completed_trials(self):
            return super().on_trial_complete(trial_id, result, error)
        step = (result or {}).get(TRAINING_ITERATION)
        if not error and step is not None and self.metric in result:
            # Tune hands the last result to on_trial_complete only, not to on_trial_result:
            # record it too, so the study holds every epoch of the trial.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # already reported: Optuna keeps the first
                optuna_trials(self)[trial_id].report(result[self.metric], step)
        if error or step is None or step >= self._max_t:
            return super().on_trial_complete(trial_id, result, error)
        # With no value given, Optuna records the last intermediate value for a pruned trial.
        optuna_study(self).tell(optuna_trials(self)[trial_id], state=optuna.trial.TrialState.PRUNED)
        completed_trials(self).add(trial_id)

    def restore(self, checkpoint_path: str):
        super().restore(checkpoint_path)
        # A trial asked of Optuna after Tune's last snapshot has no Tune trial to finish it:
        # close it as FAIL so a resumed study never holds a phantom RUNNING trial.
        known = {live_trial_id(t) for t in optuna_trials(self).values()}
        for frozen in optuna_study(self).get_trials(deepcopy=False,
                                                states=(optuna.trial.TrialState.RUNNING,)):
            if frozen_trial_id(frozen) not in known:
                optuna_study(self).tell(frozen.number, state=optuna.trial.TrialState.FAIL)


def tpe_sampler(seed: int) -> optuna.samplers.TPESampler:
    """Multivariate, grouped TPE for conditional spaces; constant liar for concurrent trials."""
    with warnings.catch_warnings():
        # `group` and `constant_liar` are marked experimental; both are what this search needs.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=5
        )
