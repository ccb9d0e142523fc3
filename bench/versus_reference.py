"""Versus the reference configurations: the search's best against the hand-picked ones.

For each task, on the same simulated data: a TPE + ASHA search through `search.run`, which
consumes some total number of epochs B; then the reference's hand-picked configurations (the
task's warm-start points) through `search.run` with no early stopping, sharing the same budget
(each trained for B / count epochs). Reported: the best validation metric of each side.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import finish, parser
from bench.fixed_search import epochs_and_best, run_fixed, search_argv
from search.config import default_cache_dir
from spaces import SPACES
from trainables.errors import exits_cleanly

TASKS = ("superres", "classify", "anomaly")


def _argv(task: str, samples: int, epochs: int, grace: int, args, storage: Path, name: str,
          cache: Path) -> list[str]:
    data = (["--sim-count", str(args.sr_count)] if task == "superres" else
            ["--sim-count", str(args.class_count), "--image-size", str(args.image_size)])
    return search_argv(task, samples, epochs, 2, storage, name, cache, [*data, "--seed", "0"],
                       grace=grace)


def compare(task: str, args, storage: Path, cache: Path) -> dict:
    run_fixed(task, None, _argv(task, args.trials, args.epochs, args.grace, args, storage,
                                f"{task}-search", cache))
    budget, searched = epochs_and_best(storage / f"{task}-search", task)
    reference = SPACES[task].WARM_START
    # One --max-epochs for all of them: the nearest whole share of the budget (both totals are
    # reported; they differ by less than one epoch per configuration).
    each = max(1, round(budget / len(reference)))
    run_fixed(task, reference, _argv(task, len(reference), each, each, args, storage,
                                     f"{task}-reference", cache))
    spent, hand_picked = epochs_and_best(storage / f"{task}-reference", task)
    return {"metric": SPACES[task].METRIC, "search_epochs": budget, "search_best": searched,
            "reference_configs": len(reference), "reference_epochs_each": each,
            "reference_epochs": spent, "reference_best": hand_picked}


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("versus_reference", __doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=4, help="max epochs of a search trial")
    p.add_argument("--grace", type=int, default=1)
    p.add_argument("--sr-count", type=int, default=600, help="simulated SR pairs")
    p.add_argument("--class-count", type=int, default=200, help="simulated images per class")
    p.add_argument("--image-size", type=int, default=32)
    args = p.parse_args(argv)
    if args.quick:
        args.trials, args.epochs, args.sr_count, args.class_count, args.image_size = 2, 1, 24, 8, 16
    figures: dict = {"trials": args.trials, "max_epochs": args.epochs, "grace_epochs": args.grace}
    gaps = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        for task in args.tasks:
            result = compare(task, args, Path(tmp), cache)
            figures |= {f"{task}_{k}": v for k, v in result.items()}
            gaps.append(result["search_best"] - result["reference_best"])
            figures[f"{task}_search_minus_reference"] = gaps[-1]
    # Every metric here is higher-is-better (PSNR, AUC): the smallest gap is the honest summary.
    finish("versus_reference", args, figures,
           ("smallest (search best - reference best) over tasks", min(gaps),
            "> 0: the search beats the hand-picked configurations"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
