"""`python -m search.evaluate --model STORAGE/NAME/best --data DIR`: the task's metrics of a
trained model on a data set in any layout the task reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly

# torch, torchvision, scikit-learn and the model code (~9 s to import) are imported once the
# flags are read, so a bad flag is answered at once.


def _search_split(model_dir: Path) -> tuple[float, int]:
    """The validation fraction and seed of the search that trained the model beside it."""
    manifest = model_dir.parent / "lenstune.json"
    if not manifest.is_file():
        raise UserError(f"--split val needs the experiment's {manifest} beside the model folder")
    search = json.loads(manifest.read_text())["search"]
    return search["val_fraction"], search["seed"]


def _new_folder(base: Path) -> Path:
    """base, or base-2, base-3...: an evaluation never overwrites an earlier one."""
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(
        prog="python -m search.evaluate",
        description="Evaluate a trained model (an experiment's best/ folder) on a data set.")
    parser.add_argument("--model", type=Path, required=True,
                        help="a model folder: STORAGE/NAME/best")
    parser.add_argument("--data", type=Path, required=True,
                        help="a data set in the task's layout")
    parser.add_argument("--split", choices=("all", "val"), default="all",
                        help="all images, or only the validation split the search used")
    parser.add_argument("--task", help="refuse a model of any other task")
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation: average the model's outputs over each "
                             "image's 8 quarter turns and flips")
    parser.add_argument("--out", type=Path,
                        help="results folder (default: STORAGE/NAME/evaluations/<data name>)")
    args = parser.parse_args(argv)
    from tasks import get_task, load_model
    from trainables.inference import best_device

    device = best_device()
    net, spec = load_model(args.model, device)
    if args.task and args.task != spec["task"]:
        raise UserError(f"--task {args.task}: {args.model} is a {spec['task']} model")
    split = _search_split(args.model) if args.split == "val" else None
    out = _new_folder(args.out or args.model.parent / "evaluations" / args.data.resolve().name)
    try:
        metrics = get_task(spec["task"]).evaluate(net, spec, args.data, split, out, device,
                                                  tta=args.tta)
    except BaseException:
        if not any(out.iterdir()):
            out.rmdir()  # leave no empty folder behind a refused data set
        raise
    metrics = {"model": str(args.model), "data": str(args.data), "split": args.split, **metrics}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    width = max(map(len, metrics))
    for name, value in metrics.items():
        shown = f"{value:.4f}" if isinstance(value, float) and np.isfinite(value) else value
        print(f"{name:<{width}}  {shown}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
