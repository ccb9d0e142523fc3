"""What mattered: hyperparameter importances and the optimisation history, as tables and plots."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # reports are written on headless machines
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

MIN_COMPLETE = 5
"""Complete trials before importances are worth printing: fANOVA's forest over two trials
rated "model 0.586, blocks 0.414" from a single difference."""


def complete_trials(study: optuna.Study | None) -> int:
    if study is None:
        return 0
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def param_importances(study: optuna.Study | None) -> dict[str, float] | None:
    """fANOVA importances over the complete trials; None while fewer than MIN_COMPLETE have
    completed, {} when fANOVA cannot rate them.

    Only the parameters every finished trial has (the shared part of a conditional space)
    are rated, as Optuna's evaluators require.
    """
    if complete_trials(study) < MIN_COMPLETE:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
            )
    except (ValueError, RuntimeError, AssertionError):
        # ValueError, RuntimeError: e.g. every finished trial has the same value. AssertionError:
        # fANOVA's tree computes a negative variance, e.g. for enqueued trials whose values lie
        # outside their distribution (optuna#4772); the report goes on without importances.
        return {}


def importance_markdown(importances: dict[str, float] | None, complete: int) -> str:
    if importances is None:
        return (f"## What mattered\n\nHyperparameter importances need {MIN_COMPLETE} complete "
                f"trials; this search has {complete}.\n")
    if not importances:
        return ("## What mattered\n\nOptuna's fANOVA could not rate these trials' "
                "hyperparameters (all scored alike, or values outside the space).\n")
    lines = ["## What mattered", "",
             "Hyperparameter importances (Optuna fANOVA over complete trials; sums to 1):", "",
             "| parameter | importance |", "|---|---|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in importances.items()]
    return "\n".join(lines) + "\n"


def plot_importances(importances: dict[str, float], path: Path) -> None:
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance (fANOVA)")
    ax.set_title("What mattered")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def best_so_far(values: list[float], mode: str) -> list[float]:
    best, out = math.nan, []
    for value in values:
        if not math.isnan(value) and (math.isnan(best) or
                                      (value > best if mode == "max" else value < best)):
            best = value
        out.append(best)
    return out


def plot_history(epochs: list[int], values: list[float], metric: str, mode: str,
                 baseline: float | None, path: Path, baseline_name: str | None = None) -> None:
    """Best metric so far against trials run and against total epochs spent, in trial order."""
    best = best_so_far(values, mode)
    spent = [sum(epochs[: i + 1]) for i in range(len(epochs))]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, x, label in ((axes[0], range(1, len(values) + 1), "trials"),
                         (axes[1], spent, "total epochs spent")):
        ax.plot(x, values, "o", color="tab:gray", alpha=0.6, label="trial (its best epoch)")
        ax.step(x, best, where="post", color="tab:blue", label="best so far")
        if baseline is not None:
            ax.axhline(baseline, color="tab:red", linestyle="--",
                       label=f"{baseline_name} (baseline)" if baseline_name else "baseline")
        ax.set_xlabel(label)
        # Trials and epochs are counts: no tick at 0.96 trials, even for a single trial.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes[0].set_ylabel(metric)
    # Below the panels: inside them, even matplotlib's "best" place covered trials' points.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle("Optimisation history")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
