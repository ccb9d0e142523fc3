"""`python -m search.simulate --task superres --n N --out DIR`: write a simulated data set."""

from __future__ import annotations

import sys
from pathlib import Path

from tasks import get_task, task_names
from trainables.data.lensing import LensingRecipe
from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(
        prog="python -m search.simulate",
        description="Simulate a lensing data set with lenstronomy (DeepLenseSim Model I recipe) "
                    "in the layout `python -m search.run --data` reads.")
    parser.add_argument("--task", required=True, choices=task_names())
    parser.add_argument("--n", type=int, required=True,
                        help="pairs (superres) or images per class (classify, anomaly)")
    parser.add_argument("--out", type=Path, required=True, help="a new folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, help="processes (default: all cores)")
    parser.add_argument("--num-pix", type=int, default=LensingRecipe.num_pix,
                        help="image side in pixels (superres: of HR; LR is half); "
                             "the field of view stays that of the recipe")
    args = parser.parse_args(argv)
    if args.n < 1:
        raise UserError(f"--n must be positive, got {args.n}")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be positive, got {args.workers}")
    if args.num_pix < 8 or args.num_pix % 2:
        raise UserError(f"--num-pix must be even and >= 8, got {args.num_pix}")
    recipe = LensingRecipe().at_size(args.num_pix)
    task = get_task(args.task)
    out = task.simulate(args.out, args.n, args.seed, recipe, workers=args.workers)
    print(f"wrote {args.task} data ({args.n} {task.counts}) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
