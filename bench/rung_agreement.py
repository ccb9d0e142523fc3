"""Where a rung would predict the end: Spearman's rho between every epoch's scores and the final
ones, over trials that all ran every epoch (no early stopping).

Reads the no-stopping side of `bench.search_efficiency` results (its JSON's
`no_stopping_trials`), or any JSON list of {"val_auc_by_epoch": [...]} trials, and prints rho for
each epoch beside the phase of the cyclic LR at that epoch's end (peak or low point). A grace
period is fair where rho is high; a phase that ranks worse than the other would show here.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import finish, parser
from search.rung_agreement import rung_agreement
from trainables.cyclic_adam import EPOCHS_PER_HALF_CYCLE
from trainables.errors import UserError, exits_cleanly


def _curves(path: Path, key: str) -> list[list[float]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict):
        data = data.get("figures", data).get("no_stopping_trials")
    if not isinstance(data, list):
        raise UserError(f"{path}: holds no no_stopping_trials (a bench.search_efficiency result)")
    curves = [t[key] for t in data if t.get(key) and None not in t[key]]
    length = max(map(len, curves), default=0)
    return [c for c in curves if len(c) == length]


def phase(epoch: int) -> str:
    """Where the triangular cyclic LR stands at the end of `epoch`."""
    return "low" if epoch % (2 * EPOCHS_PER_HALF_CYCLE) == 0 else (
        "peak" if epoch % EPOCHS_PER_HALF_CYCLE == 0 else "between")


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("rung_agreement", __doc__.splitlines()[0])
    p.add_argument("results", type=Path, nargs="+", help="search_efficiency JSON files")
    p.add_argument("--key", default="val_auc_by_epoch")
    args = p.parse_args(argv)
    figures: dict = {}
    means = {"low": [], "peak": []}
    for path in args.results:
        curves = _curves(path, args.key)
        if len(curves) < 3:
            raise UserError(f"{path}: fewer than 3 trials ran every epoch")
        ends = [max(c) for c in curves]
        rows = rung_agreement(curves, ends, list(range(1, len(curves[0]))))
        for row in rows:
            row["phase"] = phase(row["epoch"])
            if row["phase"] in means:
                means[row["phase"]].append(row["rho"])
        figures[path.name] = {"trials": len(curves), "epochs": len(curves[0]), "by_epoch": rows}
        print(f"{path.name}: {len(curves)} trials of {len(curves[0])} epochs")
        print("  " + " ".join(f"{r['epoch']}:{r['rho']:.2f}{r['phase'][0]}" for r in rows))
    low = sum(means["low"]) / max(len(means["low"]), 1)
    peak = sum(means["peak"]) / max(len(means["peak"]), 1)
    figures |= {"mean_rho_low_point": low, "mean_rho_peak": peak}
    finish("rung_agreement", args, figures, ("mean rho at the LR's low points / at its peaks",
                                            low / peak if peak else float("nan"),
                                            "> 1: rungs at the low point rank better"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
