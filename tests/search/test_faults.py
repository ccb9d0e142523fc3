"""A trial that crashes is retried from its last checkpoint, not from scratch."""

import csv
import json

from cluster.runtime import start_ray, stop_ray
from search.config import SearchConfig
from search.tuner import build_trainable, build_tuner
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
from trainables.tune_adapter import run_trial


def test_a_trial_that_crashes_once_at_epoch_2_resumes_from_its_checkpoint(sr_data, tmp_path):
    marker = tmp_path / "crashed-once"

    def flaky(config, data, settings):
        # The trial dies (once) as it finishes epoch 2, before that epoch is reported.
        import ray.tune

        real_report = ray.tune.report

        def report(metrics, checkpoint=None):
            if metrics["epoch"] == 2 and not marker.exists():
                marker.write_text("crashed")
                # As if the experiment folder had last been synced to storage before epoch 1
                # was logged (the race that once lost the epoch-1 line): the retry must keep
                # the driver's own, newer result.json.
                synced = tmp_path / "faults" / f"trial_{ray.tune.get_context().get_trial_id()}"
                synced.mkdir(parents=True, exist_ok=True)
                for name in ("result.json", "progress.csv"):
                    (synced / name).write_text("")
                raise RuntimeError("injected crash at epoch 2")
            real_report(metrics, checkpoint=checkpoint)

        ray.tune.report = report
        try:
            run_trial(config, data, settings)
        finally:
            ray.tune.report = real_report

    cfg = SearchConfig(task="superres", name="faults", storage=str(tmp_path), num_samples=1,
                       max_epochs=3, grace_epochs=3, concurrency=1, dashboard=False)
    split = split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)
    start_ray(None, dashboard=False)
    try:
        results = build_tuner(cfg, build_trainable(cfg, split, flaky), cfg.storage).fit()
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
