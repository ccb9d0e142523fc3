"""Every private Ray Tune, Ray and Optuna name lenstune uses still exists: an upgrade that drops
one fails here, by name, not in the middle of a search."""

import importlib

import optuna
import ray
from ray.tune.execution.tune_controller import TuneController
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from search import tune_internals as internals


def test_the_versions_they_were_checked_against_are_named():
    assert set(internals.CHECKED_AGAINST) == {"ray", "optuna"}
    if (ray.__version__, optuna.__version__) != (internals.CHECKED_AGAINST["ray"],
                                                 internals.CHECKED_AGAINST["optuna"]):
        print(f"note: private names checked against {internals.CHECKED_AGAINST}, running on "
              f"ray {ray.__version__}, optuna {optuna.__version__}")


def test_ashas_rungs_are_read_and_written_back():
    scheduler = ASHAScheduler(metric="m", mode="max", max_t=8, grace_period=2,
                              reduction_factor=2)
    rungs = internals.asha_rungs(scheduler)
    assert [milestone for milestone, _ in rungs[0]] == [8, 4, 2]
    internals.set_asha_rungs(scheduler, [[(8, {}), (4, {"t": 1.0}), (2, {})]])
    assert internals.asha_rungs(scheduler)[0][1] == (4, {"t": 1.0})


def test_optuna_searchs_trials_and_study_are_reachable():
    def space(trial):
        trial.suggest_float("x", 0, 1)

    searcher = OptunaSearch(space=space, metric="m", mode="max")
    config = searcher.suggest("t1")
    assert "x" in config
    live = internals.optuna_trials(searcher)["t1"]
    assert isinstance(live, optuna.Trial) and isinstance(internals.completed_trials(searcher), set)
    frozen = internals.optuna_study(searcher).get_trials(deepcopy=False)[0]
    assert internals.frozen_trial_id(frozen) == internals.live_trial_id(live)


def test_tunes_controller_and_loggers_have_the_hooks_lenstune_uses():
    assert callable(TuneController._mark_trial_to_checkpoint)
    for logger in (JsonLoggerCallback, CSVLoggerCallback):
        assert callable(getattr(logger, internals.RESTORE_FROM_REMOTE))
    source = importlib.import_module("inspect").getsource(TuneController.__init__)
    for name in internals.HELD_DECISIONS:
        assert f"self.{name}" in source


def test_a_trials_checkpoint_record_can_be_edited(tmp_path):
    from ray.tune import Checkpoint

    manager = internals.CheckpointManager(checkpoint_config=None)
    result = internals.TrainingResult(checkpoint=Checkpoint.from_directory(str(tmp_path)),
                                      metrics={"training_iteration": 3})
    manager.register_checkpoint(result)
    assert internals.latest_checkpoint_result(manager) is result
    assert internals.checkpoint_results(manager) == [result]
    internals.set_checkpoint_results(manager, [], None)
    assert internals.latest_checkpoint_result(manager) is None
    assert callable(internals.TrainingRunMetadata.from_json_state)
    assert internals.find_newest_experiment_checkpoint(str(tmp_path)) is None


def test_the_ray_core_names_cluster_runtime_uses():
    from cluster.runtime import TOKEN_AUTH_LOGGER

    importlib.import_module(TOKEN_AUTH_LOGGER)
    assert hasattr(ray._private.worker, "_global_node")
