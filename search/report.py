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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.fs

from search import storage
from search.manifest import read_manifest
from search.study import load_study
from tasks import get_task
from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly

if TYPE_CHECKING:
    from ray.tune import ExperimentAnalysis


@dataclass(frozen=True)
class Report:
    rows: list[dict]
    """Leaderboard rows, best first: refit configurations, then search trials and the baseline."""
    columns: list[str]
    best: dict | None
    """The best refit configuration's row, else the best search trial's; None before any
    trial reported."""
    unfinished: int
    """Trials (search or refit) that were running, pending or not yet started when it stopped."""
    markdown: str
    rungs: list[dict] = field(default_factory=list)
    """Per ASHA rung: its epoch, the trials compared, and Spearman's rho against their ends."""


@dataclass(frozen=True)
class _Trial:
    """One Tune trial as the report sees it."""

    row: dict
    config: dict
    curve: list[float]
    """The metric after each epoch (the last report of an epoch trained twice)."""
    tune_trial: object


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


def _lr_text(config: dict) -> str:
    if "base_lr" not in config:
        return ""
    return f"{config['base_lr']:.2g}..{config['base_lr'] * config['lr_ratio']:.2g}"


def _is_reference(config: dict, task) -> str:
    return "yes" if any(all(config.get(k) == v for k, v in point.items())
                        for point in task.space.WARM_START) else ""


def _trials(analysis: ExperimentAnalysis, task, max_epochs: int, phase: str) -> list[_Trial]:
    metric, sign = task.metric, (1 if task.mode == "max" else -1)
    trials = []
    for trial in analysis.trials:
        config = dict(trial.config)
        frame = analysis.trial_dataframes.get(trial.trial_id)
        row = {"phase": phase, "trial": trial.trial_id,
               **{k: config.get(k) for k in task.leaderboard_params},
               "lr": _lr_text(config), "reference": _is_reference(config, task)}
        epochs, best, diverged, curve = 0, {}, False, []
        if frame is not None and not frame.empty and metric in frame:
            # A diverged trial's last report repeats its last good metrics, flagged.
            diverged = "diverged" in frame and frame["diverged"].iloc[-1] == 1
            epochs = int(frame["training_iteration"].max()) - int(diverged)
            scores = sign * frame[metric]
            if scores.notna().any():
                best = frame.loc[scores.idxmax()].to_dict()
            by_epoch = frame.drop_duplicates("training_iteration", keep="last")
            curve = [float(v) for v in by_epoch.sort_values("training_iteration")[metric]]
            curve = curve[:epochs]
        row["epochs"] = epochs
        row["best_epoch"] = int(best["training_iteration"]) if best else None
        row["status"] = _status(trial, epochs, config.get("max_epochs", max_epochs), diverged)
        row |= {m: best.get(m, math.nan) for m in task.leaderboard_metrics}
        trials.append(_Trial(row, config, curve, trial))
    return trials


def _by_metric(rows: list[dict], task) -> list[dict]:
    """Best first; rows with no score last."""
    sign = 1 if task.mode == "max" else -1
    scored = [r for r in rows if not math.isnan(r.get(task.metric, math.nan))]
    unscored = [r for r in rows if math.isnan(r.get(task.metric, math.nan))]
    return sorted(scored, key=lambda r: -sign * r[task.metric]) + unscored


def _refit_rows(refits: list[_Trial], searched: list[_Trial], task) -> list[dict]:
    """One row per refit configuration: its metrics' mean and std over its seeds."""
    from search.refit import config_key, search_config

    source = {config_key(t.config): t.row["trial"] for t in searched}
    groups: dict[str, list[_Trial]] = {}
    for trial in refits:
        groups.setdefault(config_key(trial.config), []).append(trial)
    rows = []
    for key, seeds in groups.items():
        config = search_config(seeds[0].config)
        statuses = [t.row["status"] for t in seeds]
        row = {"phase": "refit", "trial": source.get(key, seeds[0].row["trial"]),
               **{k: config.get(k) for k in task.leaderboard_params},
               "lr": _lr_text(config), "reference": _is_reference(config, task),
               "seeds": len(seeds), "epochs": min(t.row["epochs"] for t in seeds),
               "best_epoch": "/".join(_format(t.row["best_epoch"]) for t in seeds),
               "status": statuses[0] if len(set(statuses)) == 1 else "/".join(statuses),
               "refit_trials": [t.row["trial"] for t in seeds]}
        for m in task.leaderboard_metrics:
            values = np.array([t.row[m] for t in seeds], dtype=float)
            values = values[~np.isnan(values)]
            row[m] = float(values.mean()) if len(values) else math.nan
            row[f"{m}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        rows.append(row)
    return _by_metric(rows, task)


def _cell(row: dict, column: str) -> str:
    std = row.get(f"{column}_std")
    if std is not None and not math.isnan(std):
        return f"{_format(row.get(column))} ± {std:.2g}"
    return _format(row.get(column))


def _markdown(manifest: dict, rows: list[dict], columns: list[str], best: dict | None) -> str:
    task = get_task(manifest["task"])
    metric = task.metric
    lines = [f"# {manifest['task']} search `{manifest['name']}`", ""]
    lines.append(f"Data: {manifest['data']} ({manifest['train_count']} train, "
                 f"{manifest['val_count']} validation). Metric: {metric} ({task.mode}); the "
                 "metrics are those of each trial's best epoch, the one kept as its checkpoint; "
                 "a refit row holds the mean ± std over its seeds.")
    dropped = manifest.get("warm_start_dropped")
    if dropped:
        lines.append(f"Not run: the reference configurations of {', '.join(dropped)} "
                     "(--models leaves their nets out).")
    lines.append("")
    if best is not None:
        baseline = manifest.get("baseline") or {}
        references = [r for r in rows if r.get("reference") == "yes" and r["phase"] == "search"]
        if best["phase"] == "refit":
            std = best.get(f"{metric}_std", math.nan)
            spread = "" if math.isnan(std) else f" ± {std:.4f}"
            lines.append(f"Best: the refit of trial {best['trial']}'s configuration, {metric} "
                         f"{best[metric]:.4f}{spread} over {best['seeds']} fresh seed(s) of "
                         f"{best['epochs']} epochs; best/ holds its best seed's model.")
            tta = best.get(f"{metric}_tta", math.nan)
            if not math.isnan(tta):
                lines.append(f"With test-time augmentation (the 8 quarter turns and flips; "
                             f"`--tta` of search.evaluate and search.predict): {metric} "
                             f"{tta:.4f}, {tta - best[metric]:+.4f}.")
        else:
            lines.append(f"Best trial {best['trial']}: {metric} {best[metric]:.4f}.")
        if metric in baseline:
            lines.append(f"{best[metric] - baseline[metric]:+.4f} against "
                         f"{manifest['baseline_name']} ({baseline[metric]:.4f}).")
        if references:
            lines.append(f"Best reference configuration in the search: {metric} "
                         f"{references[0][metric]:.4f} ({references[0]['epochs']} epochs); the "
                         f"best is {best[metric] - references[0][metric]:+.4f} from it.")
        lines.append("")
    shown = [c for c in columns if not c.endswith("_std")]
    lines.append("| " + " | ".join(shown) + " |")
    lines.append("|" + "---|" * len(shown))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row, c) for c in shown) + " |")
    return "\n".join(lines) + "\n"


def _write_plots(experiment: str, manifest: dict, searched: list[_Trial],
                 importances: dict | None) -> None:
    """plots/history.png (and plots/importance.png once there are importances)."""
    from search.study_summary import plot_history, plot_importances

    task = get_task(manifest["task"])
    if not searched:
        return
    baseline = (manifest.get("baseline") or {}).get(task.metric)
    with tempfile.TemporaryDirectory() as folder:
        plot_history([t.row["epochs"] for t in searched], [t.row[task.metric] for t in searched],
                     task.metric, task.mode, baseline, Path(folder) / "history.png",
                     manifest.get("baseline_name"))
        if importances:
            plot_importances(importances, Path(folder) / "importance.png")
        evaluation = f"{experiment}/best/evaluation.json"
        if storage.exists(evaluation):  # classify, anomaly: the best trial's ROC and confusion
            from trainables.class_metrics import save_evaluation_figures  # scikit-learn: ~2 s

            summary = json.loads(storage.read_text(evaluation))
            save_evaluation_figures(summary, folder)
        storage.copy_folder(pyarrow.fs.LocalFileSystem(), folder, f"{experiment}/plots")


def _analysis(path: str, task) -> ExperimentAnalysis:
    from ray.tune import ExperimentAnalysis

    try:
        return ExperimentAnalysis(path, default_metric=task.metric, default_mode=task.mode)
    except ValueError:
        raise UserError(f"{path}: no Ray Tune experiment state yet") from None


def _write_best(experiment: str, best: dict, best_trial: _Trial, analysis, task) -> None:
    """best/ (the best trial's best checkpoint, with metrics.json) and best_config.json."""
    storage.write_text(f"{experiment}/best_config.json",
                       json.dumps(best_trial.config, indent=2, sort_keys=True) + "\n")
    checkpoint = analysis.get_best_checkpoint(best_trial.tune_trial)
    if checkpoint is None:
        return
    storage.copy_folder(checkpoint.filesystem, checkpoint.path, f"{experiment}/best")
    row = best_trial.row
    summary = {"phase": row["phase"], "trial": row["trial"], "epoch": row["best_epoch"],
               "metrics": {m: row[m] for m in task.leaderboard_metrics},
               "config": best_trial.config}
    if best["phase"] == "refit":
        summary |= {"refit_of": best["trial"], "seeds": best["seeds"],
                    "refit_mean": {m: best[m] for m in task.leaderboard_metrics},
                    "refit_std": {m: best[f"{m}_std"] for m in task.leaderboard_metrics}}
    storage.write_text(f"{experiment}/best/metrics.json", json.dumps(summary, indent=2))


def _winners(rows: list[dict], searched: list[_Trial], top: int) -> list[dict]:
    from search.refit import winners

    return winners(rows, {t.row["trial"]: t.config for t in searched}, top)


def _refit_expected(manifest: dict, rows: list[dict], searched: list[_Trial]) -> int:
    """The refit trials of a finished search, with the refit on (made or still to make)."""
    settings = manifest.get("search", {})
    top, seeds = settings.get("refit_top", 0), settings.get("refit_seeds", 0)
    if not top or not seeds:
        return 0
    return len(_winners(rows, searched, top)) * seeds


def search_winners(experiment: str, top: int) -> list[dict]:
    """The configurations of the experiment's `top` best search trials, best first."""
    experiment = storage.resolve_storage(experiment).rstrip("/")
    manifest = read_manifest(experiment)
    task = get_task(manifest["task"])
    searched = _trials(_analysis(experiment, task), task, manifest["max_epochs"], "search")
    return _winners(_by_metric([t.row for t in searched], task), searched, top)


def write_report(experiment: str) -> Report:
    """Rebuild leaderboard.md/.csv, best_config.json and best/ from the experiment's files."""
    experiment = storage.resolve_storage(experiment).rstrip("/")
    manifest = read_manifest(experiment)
    # Ray Tune (with pandas and Ray Data), Optuna and matplotlib take seconds to import: a
    # mistyped experiment path is answered before them.
    from search.refit import has_refit, refit_path
    from search.rung_agreement import agreement_markdown, rung_agreement, rung_epochs
    from search.study_summary import complete_trials, importance_markdown, param_importances

    task = get_task(manifest["task"])
    analysis = _analysis(experiment, task)
    searched = _trials(analysis, task, manifest["max_epochs"], "search")
    refit_analysis, refits = None, []
    if has_refit(experiment):
        refit_analysis = _analysis(refit_path(experiment), task)
        refits = _trials(refit_analysis, task, manifest["max_epochs"], "refit")
    search_rows = [t.row for t in searched]
    baseline = manifest.get("baseline")
    if baseline:
        search_rows.append({"phase": "baseline", "trial": manifest["baseline_name"],
                            "status": "baseline",
                            **{m: baseline.get(m, math.nan) for m in task.leaderboard_metrics}})
    refit_rows = _refit_rows(refits, searched, task)
    rows = refit_rows + _by_metric(search_rows, task)
    columns = ["phase", "trial", *task.leaderboard_params, "lr", "reference", "seeds", "epochs",
               "best_epoch", "status", *task.leaderboard_metrics,
               *(f"{m}_std" for m in task.leaderboard_metrics)]
    scored = [r for r in rows if r["phase"] != "baseline"
              and not math.isnan(r.get(task.metric, math.nan))]
    best = scored[0] if scored else None

    settings = manifest.get("search", {})
    finished = [t for t in searched + refits if t.row["status"] == "complete"]
    rungs = rung_agreement(
        [t.curve for t in finished], [t.row[task.metric] for t in finished],
        rung_epochs(settings.get("grace_epochs", manifest["max_epochs"]),
                    settings.get("reduction_factor", 2), manifest["max_epochs"]),
        best_so_far=settings.get("asha") == "pause", mode=task.mode)
    study = (load_study(manifest["optuna_storage"], manifest["study_name"])
             if manifest.get("optuna_storage") else None)
    importances = param_importances(study)
    markdown = "\n".join([_markdown(manifest, rows, columns, best),
                          agreement_markdown(rungs, task.metric),
                          importance_markdown(importances, complete_trials(study))])
    storage.write_text(f"{experiment}/leaderboard.md", markdown)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    storage.write_text(f"{experiment}/leaderboard.csv", buffer.getvalue())
    if best is not None:
        if best["phase"] == "refit":
            seeds = [t for t in refits if t.row["trial"] in best["refit_trials"]]
            best_trial, best_analysis = _by_metric_trials(seeds, task)[0], refit_analysis
        else:
            best_trial = next(t for t in searched if t.row["trial"] == best["trial"])
            best_analysis = analysis
        _write_best(experiment, best, best_trial, best_analysis, task)
    _write_plots(experiment, manifest, searched, importances)
    unfinished = sum(t.row["status"] in ("interrupted", "pending") for t in searched + refits)
    unfinished += max(0, manifest["num_samples"] - len(searched))
    if not unfinished:  # the search is done; the refit of its winners may still be owed
        unfinished = max(0, _refit_expected(manifest, rows, searched) - len(refits))
    return Report(rows, columns, best, unfinished, markdown, rungs)


def _by_metric_trials(trials: list[_Trial], task) -> list[_Trial]:
    order = _by_metric([t.row for t in trials], task)
    return [next(t for t in trials if t.row is row) for row in order]


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
