"""The report of an experiment: leaderboard, best config, best checkpoint.

`python -m search.report STORAGE/NAME` rewrites and prints it for a finished or partial search.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.fs

from search import storage
from search.manifest import read_manifest
from search.study import load_study
from spaces import SPACES
from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly

if TYPE_CHECKING:
    from ray.tune import ExperimentAnalysis


@dataclass(frozen=True)
class Report:
    rows: list[dict]
    """Leaderboard rows, best first; the baseline row among them."""
    columns: list[str]
    best: dict | None
    """The best trial's row, or None before any trial reported."""
    unfinished: int
    """Trials that were running or pending when the search stopped."""
    markdown: str


def _status(trial, epochs: int, max_epochs: int, diverged: bool) -> str:
    if diverged:
        return "diverged"
    if trial.status == "TERMINATED":
        return "complete" if epochs >= max_epochs else "stopped early"
    return {"ERROR": "error", "RUNNING": "interrupted", "PAUSED": "interrupted",
            "PENDING": "pending"}.get(trial.status, trial.status.lower())


def _format(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.4g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4f}"
    return "" if value is None else str(value)


def _rows(analysis: ExperimentAnalysis, manifest: dict) -> list[dict]:
    space = SPACES[manifest["task"]]
    metric, sign = space.METRIC, (1 if space.MODE == "max" else -1)
    references = [dict(p) for p in space.WARM_START]
    rows = []
    for trial in analysis.trials:
        config = dict(trial.config)
        frame = analysis.trial_dataframes.get(trial.trial_id)
        row = {"trial": trial.trial_id, **{k: config.get(k) for k in space.LEADERBOARD_PARAMS}}
        row["lr"] = (f"{config['base_lr']:.2g}..{config['base_lr'] * config['lr_ratio']:.2g}"
                     if "base_lr" in config else "")
        row["reference"] = "yes" if any(all(config.get(k) == v for k, v in p.items())
                                        for p in references) else ""
        epochs, best, diverged = 0, {}, False
        if frame is not None and not frame.empty and metric in frame:
            # A diverged trial's last report repeats its last good metrics, flagged.
            diverged = "diverged" in frame and frame["diverged"].iloc[-1] == 1
            epochs = int(frame["training_iteration"].max()) - int(diverged)
            scores = sign * frame[metric]
            if scores.notna().any():
                best = frame.loc[scores.idxmax()].to_dict()
        row["epochs"] = epochs
        row["best_epoch"] = int(best["training_iteration"]) if best else None
        row["status"] = _status(trial, epochs, manifest["max_epochs"], diverged)
        row |= {m: best.get(m, math.nan) for m in space.LEADERBOARD_METRICS}
        rows.append(row)
    baseline = manifest.get("baseline")
    if baseline:
        rows.append({"trial": manifest["baseline_name"], "status": "baseline",
                     **{m: baseline.get(m, math.nan) for m in space.LEADERBOARD_METRICS}})
    scored = [r for r in rows if not math.isnan(r.get(metric, math.nan))]
    unscored = [r for r in rows if math.isnan(r.get(metric, math.nan))]
    return sorted(scored, key=lambda r: -sign * r[metric]) + unscored


def _markdown(manifest: dict, rows: list[dict], columns: list[str], best: dict | None) -> str:
    space = SPACES[manifest["task"]]
    metric = space.METRIC
    lines = [f"# {manifest['task']} search `{manifest['name']}`", ""]
    lines.append(f"Data: {manifest['data']} ({manifest['train_count']} train, "
                 f"{manifest['val_count']} validation). Metric: {metric} ({space.MODE}); the "
                 "metrics are those of each trial's best epoch, the one kept as its checkpoint.")
    lines.append("")
    if best is not None:
        baseline = manifest.get("baseline") or {}
        references = [r for r in rows if r.get("reference") == "yes"]
        if metric in baseline:
            lines.append(f"Best trial {best['trial']}: {metric} {best[metric]:.4f}, "
                         f"{best[metric] - baseline[metric]:+.4f} against "
                         f"{manifest['baseline_name']}.")
        if references:
            lines.append(f"Best reference configuration: {metric} {references[0][metric]:.4f}; "
                         f"the search's best is {best[metric] - references[0][metric]:+.4f} "
                         "from it.")
        lines.append("")
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _write_plots(experiment: str, manifest: dict, analysis: ExperimentAnalysis,
                 rows: list[dict], importances: dict | None) -> None:
    """plots/history.png (and plots/importance.png once there are importances)."""
    from search.study_summary import plot_history, plot_importances

    space = SPACES[manifest["task"]]
    by_trial = {r["trial"]: r for r in rows}
    ordered = [by_trial[t.trial_id] for t in analysis.trials if t.trial_id in by_trial]
    if not ordered:
        return
    baseline = (manifest.get("baseline") or {}).get(space.METRIC)
    with tempfile.TemporaryDirectory() as folder:
        plot_history([r["epochs"] for r in ordered], [r[space.METRIC] for r in ordered],
                     space.METRIC, space.MODE, baseline, Path(folder) / "history.png",
                     manifest.get("baseline_name"))
        if importances:
            plot_importances(importances, Path(folder) / "importance.png")
        evaluation = f"{experiment}/best/evaluation.json"
        if storage.exists(evaluation):  # classify, anomaly: the best trial's ROC and confusion
            from trainables.class_metrics import save_evaluation_figures  # scikit-learn: ~2 s

            summary = json.loads(storage.read_text(evaluation))
            save_evaluation_figures(summary, folder)
        storage.copy_folder(pyarrow.fs.LocalFileSystem(), folder, f"{experiment}/plots")


def write_report(experiment: str) -> Report:
    """Rebuild leaderboard.md/.csv, best_config.json and best/ from the experiment's files."""
    experiment = storage.resolve_storage(experiment).rstrip("/")
    manifest = read_manifest(experiment)
    # Ray Tune (with pandas and Ray Data), Optuna and matplotlib take seconds to import: a
    # mistyped experiment path is answered before them.
    from ray.tune import ExperimentAnalysis

    from search.study_summary import importance_markdown, param_importances

    space = SPACES[manifest["task"]]
    try:
        analysis = ExperimentAnalysis(experiment, default_metric=space.METRIC,
                                      default_mode=space.MODE)
    except ValueError:
        raise UserError(f"{experiment}: no Ray Tune experiment state yet") from None
    rows = _rows(analysis, manifest)
    columns = ["trial", *space.LEADERBOARD_PARAMS, "lr", "reference", "epochs", "best_epoch",
               "status", *space.LEADERBOARD_METRICS]
    trial_rows = [r for r in rows if r["status"] != "baseline"]
    best = next((r for r in trial_rows if not math.isnan(r.get(space.METRIC, math.nan))), None)
    importances = None
    if manifest.get("optuna_storage"):
        importances = param_importances(load_study(manifest["optuna_storage"],
                                                   manifest["study_name"]))
    markdown = _markdown(manifest, rows, columns, best) + "\n" + importance_markdown(importances)
    storage.write_text(f"{experiment}/leaderboard.md", markdown)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    storage.write_text(f"{experiment}/leaderboard.csv", buffer.getvalue())
    if best is not None:
        trial = next(t for t in analysis.trials if t.trial_id == best["trial"])
        storage.write_text(f"{experiment}/best_config.json",
                           json.dumps(dict(trial.config), indent=2, sort_keys=True) + "\n")
        checkpoint = analysis.get_best_checkpoint(trial)
        if checkpoint is not None:
            storage.copy_folder(checkpoint.filesystem, checkpoint.path, f"{experiment}/best")
            summary = {"trial": best["trial"], "epoch": best["best_epoch"],
                       "metrics": {m: best[m] for m in space.LEADERBOARD_METRICS},
                       "config": dict(trial.config)}
            storage.write_text(f"{experiment}/best/metrics.json", json.dumps(summary, indent=2))
    _write_plots(experiment, manifest, analysis, rows, importances)
    unfinished = sum(r["status"] in ("interrupted", "pending") for r in trial_rows)
    unfinished += max(0, manifest["num_samples"] - len(trial_rows))
    return Report(rows, columns, best, unfinished, markdown)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineArgumentParser(
        prog="python -m search.report",
        description="Rewrite and print the leaderboard, best config and best checkpoint of an "
                    "experiment (finished or partial).")
    parser.add_argument("experiment", help="the experiment folder, STORAGE/NAME")
    return parser.parse_args(argv)


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = write_report(args.experiment)
    sys.stdout.write(report.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
