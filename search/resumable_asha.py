"""Ray's ASHAScheduler (`--asha stop`), with rungs that outlive `--resume`.

Tune saves no scheduler state with an experiment: a resumed search's ASHA started with empty
rungs, so the first trials to reach each rung after the resume passed it whatever they scored.
As PromotionASHA's records do, the rungs ride in the concurrency limiter's saved state (a
searcher's state is saved with the trials', in one snapshot) and are taken back on resume.
"""

from __future__ import annotations

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler

from search.promotion_asha import find_limiter, keep_in_limiter
from search.tune_internals import asha_rungs, set_asha_rungs


def _milestones(brackets_rungs: list) -> list[list]:
    return [[milestone for milestone, _ in rungs] for rungs in brackets_rungs]


class ResumableASHA(ASHAScheduler):
    """Ray's ASHAScheduler, its rungs saved with the searcher's state."""

    _attached = False

    def on_trial_add(self, tune_controller, trial: Trial) -> None:
        if not self._attached:
            self._attach(find_limiter(tune_controller))
        super().on_trial_add(tune_controller, trial)

    def _attach(self, limiter) -> None:
        """A bracket's rungs are (milestone, {trial id: score}) pairs, filled in place as trials
        arrive, so the limiter holds them as they stand when the searcher is saved."""
        self._attached = True
        mine = asha_rungs(self)
        set_asha_rungs(self, keep_in_limiter(
            limiter, mine,
            lambda saved: isinstance(saved, list) and _milestones(saved) == _milestones(mine)))
