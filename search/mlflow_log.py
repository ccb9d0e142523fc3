"""`--mlflow URI`: every trial in an MLflow tracking store (a local folder or a server), through
Ray Tune's MLflowLoggerCallback: its parameters, its metrics epoch by epoch, and the search's
best model. MLflow is an optional extra (`pip install -e '.[mlflow]'`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from trainables.errors import UserError


def tracking_uri(given: str) -> str:
    """A URI MLflow takes: a scheme (http://, file:, sqlite:///...) as given, a folder as file:."""
    if "://" in given or given.startswith("file:"):
        return given
    return Path(given).expanduser().resolve().as_uri()


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
