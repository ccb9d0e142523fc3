import random

import optuna
import pytest

from search.config import SearchConfig
from search.study import open_study_storage
from search.study_summary import (
    best_so_far,
    complete_trials,
    importance_markdown,
    param_importances,
)
from search.tuner import build_searcher
from spaces.superres import WARM_START
from trainables.errors import UserError


def _suggestions(seed: int, n: int) -> list[dict]:
    searcher = build_searcher(SearchConfig(task="superres", name="s", num_samples=8, seed=seed))
    return [searcher.suggest(f"trial{i}") for i in range(n)]


def test_same_seed_suggests_the_same_first_trials():
    first, again = _suggestions(3, 7), _suggestions(3, 7)
    assert first == again
    assert first[len(WARM_START):] != _suggestions(4, 7)[len(WARM_START):]


def test_sampler_handles_running_trials_and_conditional_spaces():
    searcher = build_searcher(SearchConfig(task="superres", name="s"))
    sampler = searcher._ot_study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._constant_liar and sampler._multivariate and sampler._group


def test_an_early_stopped_trial_is_pruned_and_a_full_one_complete():
    searcher = build_searcher(SearchConfig(task="superres", name="p", max_epochs=3,
                                           grace_epochs=1, num_samples=2))
    for trial_id, epochs in (("full", 3), ("cut", 1)):
        searcher.suggest(trial_id)
        for epoch in range(1, epochs + 1):
            result = {"val_psnr": 20.0 + epoch, "training_iteration": epoch}
            searcher.on_trial_result(trial_id, result)
        searcher.on_trial_complete(trial_id, result)
    states = {t.number: t.state for t in searcher._ot_study.trials}
    assert states == {0: optuna.trial.TrialState.COMPLETE, 1: optuna.trial.TrialState.PRUNED}
    assert searcher._ot_study.trials[1].intermediate_values == {1: 21.0}


def test_a_paused_trial_counts_as_pruned_and_its_promoted_run_is_added_whole():
    searcher = build_searcher(SearchConfig(task="superres", name="p", max_epochs=4,
                                           grace_epochs=1, num_samples=2))
    for trial_id in ("promoted", "waits"):
        searcher.suggest(trial_id)
        searcher.on_pause(trial_id)  # PromotionASHA decides before the searcher hears of it
        searcher.on_trial_result(trial_id, {"val_psnr": 21.0, "training_iteration": 1})
    study = searcher._ot_study
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    for epoch in (2, 3):
        searcher.on_trial_result("promoted",
                                 {"val_psnr": 20.0 + epoch, "training_iteration": epoch})
    searcher.on_trial_complete("promoted", {"val_psnr": 24.5, "training_iteration": 4})
    searcher.on_trial_complete("waits")  # stopped where it waited: nothing new to add
    assert len(study.trials) == 3
    added = study.trials[2]
    assert added.state == optuna.trial.TrialState.COMPLETE and added.value == 24.5
    assert added.intermediate_values == {1: 21.0, 2: 22.0, 3: 23.0, 4: 24.5}
    assert added.params == study.trials[0].params and added.user_attrs["continues_trial"] == 0


@pytest.mark.parametrize("url", ["not a url", "sqlite:////no/such/folder/x.db"])
def test_bad_study_urls_are_user_errors(url):
    with pytest.raises(UserError, match="--optuna-storage"):
        open_study_storage(url)


def test_importances_rate_the_parameter_that_matters():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: 10 * t.suggest_float("x", 0, 1) + 0.01 * t.suggest_float("y", 0, 1),
                   n_trials=30)
    importances = param_importances(study)
    assert importances["x"] > 0.9 > importances["y"]
    assert param_importances(optuna.create_study()) is None


def test_importances_that_fanova_cannot_rate_leave_the_report_going():
    # Trials enqueued with values outside their distribution (as a warm-start point may be)
    # make fANOVA's tree assert a negative variance (optuna#4772).
    study = optuna.create_study(direction="maximize")
    values = random.Random(0)
    for i in range(16):
        study.enqueue_trial({"base_lr": 1e-4 * (1 + i)})
        trial = study.ask()
        trial.suggest_float("base_lr", 1e-5, 1e-3, log=True)
        study.tell(trial, 30 + values.gauss(0, 0.1))
    assert param_importances(study) == {}
    assert "could not rate" in importance_markdown({}, 16)


def test_importances_wait_for_five_complete_trials_and_say_how_many_there_are():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=4)
    assert param_importances(study) is None
    assert ("Hyperparameter importances need 5 complete trials; this search has 4"
            in importance_markdown(None, complete_trials(study)))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=1)
    assert set(param_importances(study)) == {"x", "y"}


def test_best_so_far_tracks_the_mode():
    nan = float("nan")
    assert best_so_far([1.0, nan, 3.0, 2.0], "max") == [1.0, 1.0, 3.0, 3.0]
    assert best_so_far([3.0, 1.0, 2.0], "min") == [3.0, 1.0, 1.0]
