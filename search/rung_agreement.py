"""How well ASHA's rungs predict the end: Spearman's rho between the scores trials had at each
rung and the scores they finished with, over the trials that ran to their end.

A rung that ranks trials as their ends do stops the right ones; one near zero stops by luck.
"""

from __future__ import annotations

import math

from scipy.stats import spearmanr


def rung_epochs(grace_epochs: int, reduction_factor: int, max_epochs: int) -> list[int]:
    """The epochs at which ASHA compares trials: grace * rf^k, below max_epochs."""
    rungs, epoch = [], grace_epochs
    while epoch < max_epochs:
        rungs.append(epoch)
        epoch *= reduction_factor
    return rungs


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation; NaN for fewer than 3 pairs or a constant side."""
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return math.nan
    return float(spearmanr(xs, ys).statistic)


def rung_agreement(curves: list[list[float]], ends: list[float], rungs: list[int],
                   best_so_far: bool = False, mode: str = "max") -> list[dict]:
    """Per rung epoch: how many trials, and rho between their scores at the rung and at the end.

    curves[i] is trial i's metric after each epoch (it ran to its end), ends[i] its final score.
    best_so_far ranks by the best epoch up to the rung (as `--asha pause` does) instead of the
    rung epoch's own score (as Ray's ASHA does); the metric's direction does not matter.
    """
    best = max if mode == "max" else min
    rows = []
    for rung in rungs:
        pairs = [((best(curve[:rung]) if best_so_far else curve[rung - 1]), end)
                 for curve, end in zip(curves, ends) if len(curve) >= rung]
        pairs = [(x, y) for x, y in pairs if not (math.isnan(x) or math.isnan(y))]
        rows.append({"epoch": rung, "trials": len(pairs),
                     "rho": spearman([x for x, _ in pairs], [y for _, y in pairs])})
    return rows


def agreement_markdown(rows: list[dict], metric: str) -> str:
    lines = ["## Rungs against the end", ""]
    if not rows:
        return "\n".join(lines + ["No rung: every trial ran to --max-epochs.", ""])
    lines += [f"Spearman's rho between each trial's {metric} at an ASHA rung and at its end "
              "(its best epoch), over the trials that ran to their end, refits included: near "
              "1, the rung stops the trials that would have finished last.", "",
              "| rung (epoch) | trials | rho |", "|---|---|---|"]
    for row in rows:
        rho = "" if math.isnan(row["rho"]) else f"{row['rho']:.2f}"
        lines.append(f"| {row['epoch']} | {row['trials']} | {rho or 'too few trials'} |")
    return "\n".join(lines) + "\n"
