"""Mending a saved experiment state before --resume: checkpoints gone from storage, decisions
held for saves that never returned (the whole resumes are in test_faults.py and
test_promotion_asha.py)."""

import json

import pytest
from ray import tune
from ray.train._internal.checkpoint_manager import _CheckpointManager, _TrainingResult
from ray.tune.trainable.metadata import _TrainingRunMetadata

from search.checkpoint_repair import _fall_back, repair_saved_state
from trainables.errors import UserError


def _manager(tmp_path, epochs):
    manager = _CheckpointManager(tune.CheckpointConfig())  # keeps all: nothing deleted here
    for epoch in epochs:
        folder = tmp_path / f"checkpoint_{epoch - 1:06d}"
        folder.mkdir(parents=True)
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


def test_the_saved_state_is_rewritten_for_unfinished_trials_only(tmp_path):
    # A state as Tune saves one: per trial, its JSON and its run metadata's (checkpoints named
    # by their paths when saved, here under another folder, as for a moved experiment).
    entries = []
    for trial_id, status in (("done", "TERMINATED"), ("running", "RUNNING")):
        (tmp_path / f"trial_{trial_id}" / "checkpoint_000000").mkdir(parents=True)
        metadata = _TrainingRunMetadata()
        metadata.checkpoint_manager = _manager(tmp_path / "was" / f"trial_{trial_id}", [1, 2])
        entries.append([json.dumps({"trial_id": trial_id, "status": status}),
                        metadata.get_json_state()])
    state_file = tmp_path / "experiment_state-2026-11-27_00-00-00.json"
    state_file.write_text(json.dumps({"trial_data": entries, "runner_data": {}}))

    assert repair_saved_state(str(tmp_path)) == [
        "trial running: the checkpoint of epoch 2 is gone from storage; it resumes from epoch 1"]
    saved = json.loads(state_file.read_text())["trial_data"]
    assert saved[0] == entries[0]  # a finished trial is not run again: left as it was
    manager = _TrainingRunMetadata.from_json_state(saved[1][1]).checkpoint_manager
    assert manager.latest_checkpoint_result.metrics["training_iteration"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "experiment_state-2026-11-27_00-00-00.json", "trial_done", "trial_running", "was"]
    assert repair_saved_state(str(tmp_path)) == []  # nothing more to mend


def test_a_state_file_that_cannot_be_read_is_a_one_line_error(tmp_path):
    torn = tmp_path / "experiment_state-2026-11-27_00-00-00.json"
    torn.write_text('{"trial_data": [')
    with pytest.raises(UserError, match="is not a saved experiment state Ray Tune can read"):
        repair_saved_state(str(tmp_path))
    assert torn.read_text() == '{"trial_data": ['  # left as it was


def test_decisions_held_for_saves_of_the_interrupted_run_are_dropped(tmp_path):
    # Tune holds a PAUSE back until the trial's save returns; interrupted in between, it saved
    # the PAUSE, which the resumed search would carry out on the trial's next save.
    held = {"_cached_trial_decisions": {"a": "PAUSE"}, "_queued_trial_decisions": {"b": "STOP"}}
    state_file = tmp_path / "experiment_state-2026-12-03_00-00-00.json"
    state_file.write_text(json.dumps({"trial_data": [], "runner_data": held | {"_iteration": 7}}))
    assert repair_saved_state(str(tmp_path)) == []  # nothing to say: the trial goes on as it was
    assert json.loads(state_file.read_text())["runner_data"] == {
        "_cached_trial_decisions": {}, "_queued_trial_decisions": {}, "_iteration": 7}
