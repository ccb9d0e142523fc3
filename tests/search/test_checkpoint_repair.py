"""Striking checkpoints gone from storage from a trial's saved record (the whole resume is in
test_faults.py)."""

from ray import tune
from ray.train._internal.checkpoint_manager import _CheckpointManager, _TrainingResult

from search.checkpoint_repair import _fall_back


def _manager(tmp_path, epochs):
    manager = _CheckpointManager(tune.CheckpointConfig())  # keeps all: nothing deleted here
    for epoch in epochs:
        folder = tmp_path / f"checkpoint_{epoch - 1:06d}"
        folder.mkdir()
        manager.register_checkpoint(_TrainingResult(
            tune.Checkpoint.from_directory(str(folder)), {"training_iteration": epoch}))
    return manager


def test_a_trial_whose_latest_checkpoint_is_there_is_left_alone(tmp_path):
    manager = _manager(tmp_path, [1, 2, 3])
    assert _fall_back(manager, lambda result: True) is None
    assert manager.latest_checkpoint_result.metrics["training_iteration"] == 3


def test_a_missing_latest_falls_back_to_the_newest_checkpoint_left(tmp_path):
    manager = _manager(tmp_path, [1, 2, 3])
    gone = {"checkpoint_000002"}
    change = _fall_back(manager, lambda r: r.checkpoint.path.split("/")[-1] not in gone)
    assert change == "the checkpoint of epoch 3 is gone from storage; it resumes from epoch 2"
    assert manager.latest_checkpoint_result.metrics["training_iteration"] == 2
    assert len(manager.best_checkpoint_results) == 2


def test_a_trial_with_no_checkpoint_left_starts_over(tmp_path):
    manager = _manager(tmp_path, [1, 2])
    assert _fall_back(manager, lambda result: False) == (
        "the checkpoint of epoch 2 is gone from storage; it starts over")
    assert manager.latest_checkpoint_result is None and manager.best_checkpoint_results == []


def test_a_trial_that_never_checkpointed_is_left_alone(tmp_path):
    assert _fall_back(_CheckpointManager(tune.CheckpointConfig()), lambda result: False) is None
    assert _fall_back(None, lambda result: False) is None
