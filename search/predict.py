"""`python -m search.predict --model STORAGE/NAME/best --input FILE_OR_DIR... --out DIR`.

classify/anomaly: predictions.csv (file, predicted class, class probabilities).
superres: the upscaled images as .npy, with .png previews.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

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


def predict_classes(net, spec, files, images, out: Path, device: str, batch_size: int) -> Path:
    import torch

    from trainables.inference import prepare_classify_inputs, run_batched

    x = torch.cat([prepare_classify_inputs(spec, image[None, None], str(f))
                   for f, image in zip(files, images)])
    probs = run_batched(net, x, spec["task"], batch_size, device, progress=len(files) > 256)
    path = out / "predictions.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "predicted", *(f"p_{c}" for c in spec["classes"])])
        for file, p in zip(files, probs):
            writer.writerow([str(file), spec["classes"][int(p.argmax())],
                             *(f"{v:.6f}" for v in p)])
    return path


def predict_superres(net, files, images, out: Path, device: str, batch_size: int) -> Path:
    import torch

    from trainables.inference import run_batched

    by_shape = defaultdict(list)  # images of one size go through the net together
    for file, image in zip(files, images):
        by_shape[image.shape].append((file, image))
    names = {}
    for file in files:
        stem, n = file.stem, 1
        while stem in names.values():
            n += 1
            stem = f"{file.stem}-{n}"
        names[file] = stem
    for group in by_shape.values():
        x = torch.as_tensor(np.stack([image for _, image in group])[:, None])
        sr = run_batched(net, x, "superres", batch_size, device, progress=len(files) > 256)
        for (file, _), image in zip(group, sr[:, 0]):
            np.save(out / f"{names[file]}.npy", image.astype(np.float32))
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(out / f"{names[file]}.png")
    return out


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
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {args.batch_size}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise UserError(f"--out {args.out}: exists and is not empty; nothing is overwritten")
    from trainables.checkpoint import load_model
    from trainables.inference import best_device

    device = best_device()
    net, spec = load_model(args.model, device)
    if args.task and args.task != spec["task"]:
        raise UserError(f"--task {args.task}: {args.model} is a {spec['task']} model")
    files = input_files(args.input)
    images = [load_image(f) for f in files]  # every file is checked before anything is written
    args.out.mkdir(parents=True, exist_ok=True)
    if spec["task"] == "superres":
        written = predict_superres(net, files, images, args.out, device, args.batch_size)
    else:
        written = predict_classes(net, spec, files, images, args.out, device, args.batch_size)
    print(f"{len(files)} image(s) -> {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
