"""A trial that crashes is retried from its last checkpoint, not from scratch; a resumed search
whose saved state names a deleted checkpoint resumes from the newest one left."""

import csv
import json
import shutil

from cluster.runtime import start_ray, stop_ray
from search import tuner
from search.config import SearchConfig
from search.tuner import build_trainable, build_tuner, restore_tuner
from tests.search.trial_hooks import run_trial_checking
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs


def test_a_trial_that_crashes_once_at_epoch_2_resumes_from_its_checkpoint(sr_data, tmp_path,
                                                                            ray_runtime):
    marker = tmp_path / "crashed-once"

    def crash_once_at_epoch_2(_config, metrics):
        # The trial dies (once) as it finishes epoch 2, before that epoch is reported.
        import ray.tune

        if metrics["epoch"] == 2 and not marker.exists():
            marker.write_text("crashed")
            # As if the experiment folder had last been synced to storage before epoch 1 was
            # logged (the race that once lost the epoch-1 line): the retry must keep the
            # driver's own, newer result.json.
            synced = tmp_path / "faults" / f"trial_{ray.tune.get_context().get_trial_id()}"
            synced.mkdir(parents=True, exist_ok=True)
            for name in ("result.json", "progress.csv"):
                (synced / name).write_text("")
            raise RuntimeError("injected crash at epoch 2")

    flaky = run_trial_checking(crash_once_at_epoch_2)
    cfg = SearchConfig(task="superres", name="faults", storage=str(tmp_path), num_samples=1,
                       max_epochs=3, grace_epochs=3, concurrency=1, dashboard=False)
    split = split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)
    start_ray(None, dashboard=False)
    try:
        results = build_tuner(cfg, build_trainable(cfg, split, flaky)).fit()
    finally:
        stop_ray()
    assert marker.exists(), "the crash was never injected"
    assert not results.errors and results[0].metrics["epoch"] == 3
    lines = (tmp_path / "faults").glob("trial_*/result.json")
    epochs = [json.loads(line)["epoch"] for path in lines
              for line in path.read_text().splitlines() if line.strip()]
    assert epochs == [1, 2, 3], "the retried trial started again from epoch 1"
    (progress,) = (tmp_path / "faults").glob("trial_*/progress.csv")
    with progress.open() as rows:
        assert [int(row["epoch"]) for row in csv.DictReader(rows)] == [1, 2, 3]


def test_a_search_stopped_after_tune_deleted_a_checkpoint_its_state_names_resumes(
        sr_data, tmp_path, capsys, ray_runtime, monkeypatch):
    # Tune deletes a displaced checkpoint at once but saves the experiment state now and then; a
    # search killed in between names a checkpoint that is gone (ray-project/ray#27790). Here a
    # trial dies at epoch 4 on every try (ending in ERROR with checkpoints up to epoch 3), then
    # the checkpoint its state names last is deleted, as that race leaves it.
    dying = tmp_path / "dying"
    dying.write_text("until resumed")
    monkeypatch.setattr(tuner, "MAX_FAILURES", 1)  # one retry dies as well as three would

    def die_at_epoch_4(_config, metrics):
        if metrics["epoch"] == 4 and dying.exists():
            raise RuntimeError("injected crash at epoch 4")

    dies_at_epoch_4 = run_trial_checking(die_at_epoch_4)
    cfg = SearchConfig(task="superres", name="gone", storage=str(tmp_path), num_samples=1,
                       max_epochs=5, grace_epochs=5, concurrency=1, dashboard=False)
    split = split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)
    experiment = tmp_path / "gone"
    start_ray(None, dashboard=False)
    try:
        first = build_tuner(cfg, build_trainable(cfg, split, dies_at_epoch_4)).fit()
        assert first.errors
        (trial,) = experiment.glob("trial_*")
        checkpoints = sorted(trial.glob("checkpoint_*"))
        assert checkpoints[-1].name == "checkpoint_000002" and len(checkpoints) > 1
        shutil.rmtree(checkpoints[-1])
        dying.unlink()
        resumed = restore_tuner(str(experiment), build_trainable(cfg, split, dies_at_epoch_4)).fit()
    finally:
        stop_ray()
    fallback = int(checkpoints[-2].name.split("_")[1]) + 1  # the newest one left
    assert not resumed.errors and resumed[0].metrics["epoch"] == 5
    assert (f"--resume: trial {trial.name.removeprefix('trial_')}: the checkpoint of epoch 3 is "
            f"gone from storage; it resumes from epoch {fallback}") in capsys.readouterr().out
    epochs = [json.loads(line)["epoch"] for line in (trial / "result.json").read_text().splitlines()
              if line.strip()]
    assert epochs == [1, 2, 3, *range(fallback + 1, 6)]
