"""`python -m search.predict --model STORAGE/NAME/best --input FILE_OR_DIR... --out DIR`: the
model's task writes its predictions (tasks/: a CSV of class probabilities, or upscaled images)."""

from __future__ import annotations

import sys
from pathlib import Path

from trainables.data.image_files import IMAGE_SUFFIXES, load_image
from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly

# torch and the model code (seconds to import) are imported once the flags are checked, so a
# bad flag is answered at once.


def input_files(inputs: list[Path]) -> list[Path]:
    """The image files named, and those under the folders named, in order."""
    files = []
    for item in inputs:
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            if item.suffix.lower() not in IMAGE_SUFFIXES:
                raise UserError(f"{item}: not an image (.npy, .png, .jpg)")
            files.append(item)
        else:
            raise UserError(f"--input {item}: no such file or folder")
    if not files:
        raise UserError("--input: no .npy, .png or .jpg images found")
    return files


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(
        prog="python -m search.predict",
        description="Run a trained model (an experiment's best/ folder) on new images.")
    parser.add_argument("--model", type=Path, required=True,
                        help="a model folder: STORAGE/NAME/best")
    parser.add_argument("--input", type=Path, nargs="+", required=True,
                        help="image files (.npy, .png, .jpg) or folders of them")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    parser.add_argument("--task", help="refuse a model of any other task")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation: average the model's outputs over each "
                             "image's 8 quarter turns and flips")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {args.batch_size}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UserError(f"--out {args.out}: exists and is not empty; nothing is overwritten")
    from tasks import get_task, load_model
    from trainables.inference import best_device

    device = best_device()
    net, spec = load_model(args.model, device)
    if args.task and args.task != spec["task"]:
        raise UserError(f"--task {args.task}: {args.model} is a {spec['task']} model")
    files = input_files(args.input)
    images = [load_image(f) for f in files]  # every file is checked before anything is written
    args.out.mkdir(parents=True, exist_ok=True)
    written = get_task(spec["task"]).predict(net, spec, files, images, args.out, device,
                                             args.batch_size, tta=args.tta)
    print(f"{len(files)} image(s) -> {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
