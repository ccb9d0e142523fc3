"""`--mlflow URI`: every trial in an MLflow tracking store (a local folder or a server), through
Ray Tune's MLflowLoggerCallback: its parameters, its metrics epoch by epoch, and the search's
best model. MLflow is an optional extra (`pip install -e '.[mlflow]'`).

A folder holds a SQLite store (`mlflow.db`) and the artifacts (`artifacts/`): MLflow 3 refuses
its plain-file store unless told to (it is in maintenance mode).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from trainables.errors import UserError

STORE = "mlflow.db"
ARTIFACTS = "artifacts"


def tracking_uri(given: str) -> str:
    """A URI MLflow takes: one with a scheme (http://, sqlite:///...) as given, a folder as the
    SQLite store in it."""
    if "://" in given or given.startswith("file:"):
        return given
    return f"sqlite:///{Path(given).expanduser().resolve() / STORE}"


def prepare_experiment(uri: str, experiment: str) -> None:
    """The store's experiment, made now if new, with its artifacts beside a local store (MLflow
    would put them in ./mlruns of wherever the command ran)."""
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=uri)
        if client.get_experiment_by_name(experiment) is not None:
            return
        location = None
        if uri.startswith("sqlite:///"):
            folder = Path(uri.removeprefix("sqlite:///")).parent
            folder.mkdir(parents=True, exist_ok=True)
            location = (folder / ARTIFACTS).as_uri()
        client.create_experiment(experiment, artifact_location=location)
    except Exception as exc:  # MLflow raises many kinds: a bad URI, no server, no permission
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UserError(f"--mlflow {uri}: cannot open the tracking store ({reason})") from None


def check_available(given: str) -> None:
    """Refuse --mlflow before any work when MLflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise UserError(f"--mlflow {given}: MLflow is not installed here; "
                        "pip install -e '.[mlflow]' (or leave --mlflow out)")


def trial_runs(uri: str, experiment: str, phase: str):
    """The callback that logs each trial of a run (`phase`: search or refit) as an MLflow run."""
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    class TrialRuns(MLflowLoggerCallback):
        """One MLflow run per Tune trial, found again when a search resumes (Ray's callback
        would start a second run for a trial it did not start itself)."""

        def log_trial_start(self, trial) -> None:
            if trial not in self._trial_runs:
                found = _runs(self.tracking_uri, self.experiment_name, str(trial))
                if found:
                    self._trial_runs[trial] = found[0]
            super().log_trial_start(trial)

    return TrialRuns(tracking_uri=uri, experiment_name=experiment, tags={"phase": phase})


def _runs(uri: str, experiment: str, trial_name: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id],
                              filter_string=f"tags.trial_name = '{trial_name}'")
    return [run.info.run_id for run in runs]


def log_best_model(uri: str, experiment: str, trial_id: str, best: Path) -> None:
    """best/ (the model, its config and metrics) as artifacts of the run of the trial it
    came from, tagged `best`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return
    runs = client.search_runs([found.experiment_id],
                              filter_string=f"tags.trial_name LIKE '%{trial_id}'")
    if runs:
        client.log_artifacts(runs[0].info.run_id, str(best), artifact_path="best")
        client.set_tag(runs[0].info.run_id, "best", "yes")
