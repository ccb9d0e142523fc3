"""--mlflow: every trial of a search, and its best model, in an MLflow tracking store."""

import importlib.util

import pytest

from search.run import main as run_main


def test_every_trial_and_the_best_model_land_in_a_local_mlflow_store(sr_data, tmp_path,
                                                                     ray_runtime):
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlruns"
    code = run_main(["--task", "superres", "--data", str(sr_data), "--num-samples", "2",
                     "--max-epochs", "2", "--grace-epochs", "2", "--concurrency", "1",
                     "--refit-top", "1", "--refit-epochs", "2", "--no-dashboard",
                     "--storage", str(tmp_path), "--name", "tracked", "--mlflow", str(store)])
    assert code == 0
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    phases = sorted(run.data.tags["phase"] for run in runs)
    assert phases == ["refit", "search", "search"]
    for run in runs:
        assert run.data.params["model"] in ("srresnet", "edsr", "srcnn")
        history = client.get_metric_history(run.info.run_id, "val_psnr")
        assert [m.step for m in history] == [1, 2]  # one value per epoch
    (best,) = [run for run in runs if run.data.tags.get("best") == "yes"]
    assert best.data.tags["phase"] == "refit"
    files = {f.path for f in client.list_artifacts(best.info.run_id, "best")}
    assert {"best/model.pt", "best/model.json", "best/metrics.json"} <= files
    assert list((store / "artifacts").rglob("model.pt"))  # beside the store, not in ./mlruns


def test_mlflow_missing_is_one_line_before_anything_runs(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    code = run_main(["--task", "superres", "--mlflow", str(tmp_path / "m"), "--storage",
                     str(tmp_path), "--name", "x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pip install -e '.[mlflow]'" in err[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("given, uri", [("http://mlflow:5000", "http://mlflow:5000"),
                                        ("file:///runs", "file:///runs")])
def test_tracking_uris_are_taken_as_given_and_folders_as_file_uris(given, uri, tmp_path):
    from search.mlflow_log import tracking_uri

    assert tracking_uri(given) == uri
    assert tracking_uri(str(tmp_path / "runs")) == f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"
