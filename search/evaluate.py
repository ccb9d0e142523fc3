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


def evaluate_superres(net, data: Path, split: tuple | None, out: Path, device: str) -> dict:
    import torch
    from torchvision.utils import save_image

    from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
    from trainables.inference import run_batched
    from trainables.sr_metrics import sr_scores
    from trainables.superres import bicubic_baseline, sample_grid

    pairs = read_sr_pairs(data)
    if split is not None:
        pairs = split_sr_pairs(pairs, *split).val
    lr, hr = torch.as_tensor(pairs.lr), torch.as_tensor(pairs.hr)
    sr = torch.as_tensor(run_batched(net, lr, "superres", device=device, progress=True))
    scores = {k: v / len(lr) for k, v in sr_scores(sr, hr).items()}
    metrics = {"count": len(lr), **{f"model_{k}": v for k, v in scores.items()},
               **{k.replace("val_", "bicubic_"): v
                  for k, v in bicubic_baseline(pairs.lr, pairs.hr).items()}}
    save_image(sample_grid(net.cpu(), lr, hr), out / "samples.png")
    return metrics


def evaluate_classes(net, spec: dict, data: Path, split: tuple | None, out: Path,
                     device: str) -> dict:
    from trainables.class_metrics import evaluation_summary, save_evaluation_figures
    from trainables.data.class_images import read_all_class_images, read_class_images
    from trainables.inference import prepare_classify_inputs, run_batched

    images = read_all_class_images(data) if split is None else read_class_images(data, *split).val
    if list(images.classes) != spec["classes"]:
        raise UserError(f"{data}: classes {list(images.classes)} differ from the model's "
                        f"{spec['classes']}")
    x = prepare_classify_inputs(spec, images.x, str(data))
    probs = run_batched(net, x, spec["task"], device=device, progress=True)
    summary = evaluation_summary(images.y, probs, spec["classes"])
    (out / "evaluation.json").write_text(json.dumps(summary))
    save_evaluation_figures(summary, out)
    return {"count": len(images), "accuracy": summary["accuracy"], "auc": summary["auc"],
            **{f"auc_{name}": curve["auc"] for name, curve in summary["roc"].items()}}


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
    parser.add_argument("--out", type=Path,
                        help="results folder (default: STORAGE/NAME/evaluations/<data name>)")
    args = parser.parse_args(argv)
    from trainables.checkpoint import load_model
    from trainables.inference import best_device

    device = best_device()
    net, spec = load_model(args.model, device)
    if args.task and args.task != spec["task"]:
        raise UserError(f"--task {args.task}: {args.model} is a {spec['task']} model")
    split = _search_split(args.model) if args.split == "val" else None
    out = _new_folder(args.out or args.model.parent / "evaluations" / args.data.resolve().name)
    try:
        if spec["task"] == "superres":
            metrics = evaluate_superres(net, args.data, split, out, device)
        else:
            metrics = evaluate_classes(net, spec, args.data, split, out, device)
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
