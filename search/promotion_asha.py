"""ASHA as Li et al. (2020) published it: a trial waits at a rung until it earns promotion.

Ray's ASHAScheduler decides once, when a trial reaches a rung, against the trials that reached
it before: the first arrivals at every rung always pass (they are the top 1/rf of themselves),
which in a small search lets its first trials run all their epochs (ray-project/ray#4401,
#32634). Here a trial outside the top 1/rf of its rung is paused instead (Tune saves its last
checkpoint), and is resumed from that checkpoint as soon as later arrivals make it top 1/rf. A
free slot goes to a promotion before a new trial. When no new trial can come and none runs, the
trials still waiting are stopped where they are.

Tune saves no scheduler state with an experiment, so the rung records ride in the concurrency
limiter's saved state (a searcher's state is saved with the trials', in one snapshot). On
`--resume` a trial that waited at a rung waits there again instead of running on unpromoted.

A rung ranks trials by the best value each has reported so far, not by the value of the rung's
epoch: a trial is worth its best epoch (the one its checkpoint, the leaderboard and the best
model keep), and under a cyclic learning rate the epoch's own value swings with the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ray.tune.experiment import Trial
from ray.tune.result import TRAINING_ITERATION
from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.search import ConcurrencyLimiter

from search.rung_agreement import rung_epochs
from search.tune_internals import mark_trial_to_checkpoint


@dataclass
class RungRecords:
    """What PromotionASHA knows of the search so far: all that a resumed search needs back."""

    rungs: list[int]
    scores: dict[int, dict[str, float]] = field(default_factory=dict)
    """Per rung, the score (higher is better) of every trial that reached it."""
    best: dict[str, float] = field(default_factory=dict)
    """Each trial's best score so far."""
    promoted: dict[int, set[str]] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    """Paused trials not yet promoted, and the rung each waits at."""
    to_resume: list[str] = field(default_factory=list)
    """Promoted while paused: each holds a slot of the limiter until it runs again."""

    def __post_init__(self) -> None:
        for rung in self.rungs:
            self.scores.setdefault(rung, {})
            self.promoted.setdefault(rung, set())


class PauseAwareLimiter(ConcurrencyLimiter):
    """Tune's ConcurrencyLimiter, not counting a trial while the scheduler has it paused.

    Tune's own limiter counts a paused trial as live, so a search whose running trials all wait
    at rungs would get no new trial and never end. The scheduler reports pauses through the
    searcher's on_pause/on_unpause hooks, as Tune's HyperBandForBOHB does for BOHB.
    """

    def __init__(self, searcher, max_concurrent: int) -> None:
        super().__init__(searcher, max_concurrent=max_concurrent)
        self.paused_trials: set[str] = set()
        self.rung_records: RungRecords | list | None = None
        """The scheduler's records, kept here to be saved with the searcher (see the module):
        PromotionASHA's RungRecords, or the rungs of ResumableASHA's brackets."""

    def running(self) -> int:
        return len(self.live_trials - self.paused_trials)

    def has_room(self) -> bool:
        return self.running() < self.max_concurrent

    def suggest(self, trial_id: str):
        if not self.has_room():
            return None
        # The parent checks len(live_trials) against the limit: let it count running trials.
        limit, self.max_concurrent = self.max_concurrent, self.max_concurrent + len(
            self.live_trials & self.paused_trials)
        try:
            return super().suggest(trial_id)
        finally:
            self.max_concurrent = limit

    # Tune's Searcher has no pause hooks (only its BOHB searcher does): pass on those there are.
    def on_pause(self, trial_id: str) -> None:
        self.paused_trials.add(trial_id)
        if hasattr(self.searcher, "on_pause"):
            self.searcher.on_pause(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        self.paused_trials.discard(trial_id)
        if hasattr(self.searcher, "on_unpause"):
            self.searcher.on_unpause(trial_id)

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        self.paused_trials.discard(trial_id)
        super().on_trial_complete(trial_id, result=result, error=error)


def _searcher(tune_controller):
    return getattr(tune_controller.search_alg, "searcher", None)


def find_limiter(tune_controller) -> PauseAwareLimiter | None:
    """The search's PauseAwareLimiter, wherever it sits in the chain of searchers."""
    searcher = _searcher(tune_controller)
    while searcher is not None and not isinstance(searcher, PauseAwareLimiter):
        searcher = getattr(searcher, "searcher", None)
    return searcher


def keep_in_limiter(limiter: PauseAwareLimiter | None, records, fits):
    """A scheduler's records to go on with: those a resumed search saved in the limiter, if
    `fits(saved)`, else `records`; either way left in the limiter, to be saved with it."""
    if limiter is None:
        return records
    saved = limiter.rung_records
    if saved is not None and fits(saved):
        records = saved
    limiter.rung_records = records
    return records


class PromotionASHA(FIFOScheduler):
    """Promotion-based asynchronous successive halving over `time_attr` (epochs)."""

    def __init__(self, *, metric: str, mode: str, max_t: int, grace_period: int,
                 reduction_factor: int, time_attr: str = TRAINING_ITERATION) -> None:
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self._metric, self._mode, self._time_attr = metric, mode, time_attr
        self._max_t, self._rf = max_t, reduction_factor
        self._rungs = rung_epochs(grace_period, reduction_factor, max_t)
        self._records = RungRecords(self._rungs)
        self._attached = False

    def on_trial_add(self, tune_controller, trial: Trial) -> None:
        if not self._attached:
            self._attach(find_limiter(tune_controller))
        if trial.status == Trial.PENDING and (trial.trial_id in self._records.waiting
                                              or trial.trial_id in self._records.to_resume):
            # A restored trial that was paused: Tune requeued it as PENDING, which would run it
            # unpromoted. add_trial files the trial by its status after this call.
            trial.set_status(Trial.PAUSED)

    def _attach(self, limiter: PauseAwareLimiter | None) -> None:
        self._attached = True
        self._records = keep_in_limiter(
            limiter, self._records,
            lambda saved: isinstance(saved, RungRecords) and saved.rungs == self._rungs)

    def _promotable(self, rung: int) -> list[str]:
        """The rung's top 1/rf so far (best first), less the trials already promoted."""
        scores = self._records.scores[rung]
        top = sorted(scores, key=scores.get, reverse=True)[: len(scores) // self._rf]
        return [t for t in top if t not in self._records.promoted[rung]]

    def _fill_slots(self, tune_controller) -> None:
        """Give free slots to waiting trials that have earned promotion, highest rung first."""
        limiter = find_limiter(tune_controller)
        for rung in reversed(self._rungs):
            for trial_id in self._promotable(rung):
                if self._records.waiting.get(trial_id) != rung:
                    continue
                if limiter is not None and not limiter.has_room():
                    return
                self._records.promoted[rung].add(trial_id)
                del self._records.waiting[trial_id]
                self._records.to_resume.append(trial_id)
                if (searcher := _searcher(tune_controller)) is not None:
                    searcher.on_unpause(trial_id)

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        epoch = result[self._time_attr]
        if epoch >= self._max_t or result.get("diverged"):
            # A diverged trial's last report (trainables) ends it: never pause it to resume.
            return TrialScheduler.STOP
        if trial.trial_id in self._records.to_resume:
            self._records.to_resume.remove(trial.trial_id)  # it runs again
        score = result[self._metric] if self._mode == "max" else -result[self._metric]
        if score == score:  # a NaN epoch (a diverged trial) is never its best
            best = self._records.best
            best[trial.trial_id] = max(score, best.get(trial.trial_id, score))
        if epoch not in self._records.scores:
            return TrialScheduler.CONTINUE
        self._records.scores[epoch][trial.trial_id] = self._records.best.get(trial.trial_id,
                                                                              float("-inf"))
        if trial.trial_id in self._records.promoted[epoch]:
            return TrialScheduler.CONTINUE  # a result re-reported after a restore
        if trial.trial_id in self._promotable(epoch):
            self._records.promoted[epoch].add(trial.trial_id)
            self._fill_slots(tune_controller)  # its arrival may have promoted others too
            return TrialScheduler.CONTINUE
        self._records.waiting[trial.trial_id] = epoch
        if (searcher := _searcher(tune_controller)) is not None:
            searcher.on_pause(trial.trial_id)
        self._fill_slots(tune_controller)
        return TrialScheduler.PAUSE

    def _forget(self, tune_controller, trial: Trial) -> None:
        self._records.waiting.pop(trial.trial_id, None)
        self._records.best.pop(trial.trial_id, None)
        if trial.trial_id in self._records.to_resume:
            self._records.to_resume.remove(trial.trial_id)
        self._fill_slots(tune_controller)

    def on_trial_complete(self, tune_controller, trial: Trial, result: dict) -> None:
        self._forget(tune_controller, trial)

    def on_trial_error(self, tune_controller, trial: Trial) -> None:
        self._forget(tune_controller, trial)

    def on_trial_remove(self, tune_controller, trial: Trial) -> None:
        self._forget(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller) -> Trial | None:
        trials = tune_controller.get_trials()
        by_id = {t.trial_id: t for t in trials}
        for trial_id in self._records.to_resume:
            trial = by_id.get(trial_id)
            if trial is not None and trial.status == Trial.PAUSED:
                return trial
        for trial in trials:
            if trial.status == Trial.PENDING:
                return trial
        self._stop_waiting_if_final(tune_controller, trials)
        return None

    def _stop_waiting_if_final(self, tune_controller, trials: list[Trial]) -> None:
        """Once no trial can reach a rung any more, nothing waiting can be promoted: stop it."""
        records = self._records
        if not records.waiting or records.to_resume or not tune_controller.search_alg.is_finished():
            return
        if any(t.status in (Trial.RUNNING, Trial.PENDING) for t in trials):
            return
        # Tune's stop_trial does not mark a trial without an actor for the experiment's saved
        # state, which would keep it PAUSED there (read back as unfinished): mark it here.
        for trial in trials:
            if trial.trial_id in self._records.waiting and trial.status == Trial.PAUSED:
                tune_controller.stop_trial(trial)
                mark_trial_to_checkpoint(tune_controller, trial)

    def debug_string(self) -> str:
        counts = ", ".join(f"{rung}: {len(self._records.scores[rung])} reached, "
                           f"{len(self._records.promoted[rung])} promoted" for rung in self._rungs)
        return (f"Using promotion-based ASHA: {len(self._records.waiting)} trials waiting at rungs "
                f"(epochs {counts}).")
