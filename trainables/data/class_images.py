"""Labelled lensing images in class folders (the published classify and anomaly layouts).

classify: DIR/{train,val}/{no,sphere,vort}/<n>.npy    anomaly: DIR/{no_sub,sub}/image_<n>.png
Labels are the class folders in alphabetical order. Without a val folder, a seeded stratified
split is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from trainables import __version__
from trainables.data import DEFAULT_VAL_FRACTION, data_folder, split_fraction
from trainables.data.dataset_folder import METADATA_FILE, parallel_map, staged_folder
from trainables.data.image_files import IMAGE_SUFFIXES, load_image
from trainables.data.lensing import LENS_CLASSES, LensingRecipe, simulate_lens_image
from trainables.errors import UserError

ANOMALY_CLASSES = {"no_sub": "no", "sub": "sphere"}
"""Anomaly folders and the simulated class each is drawn from."""


@dataclass(frozen=True)
class ClassImages:
    """Compact in-memory images: x (N,1,H,W) float32 in the files' range, y (N,) int64."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    files: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: np.ndarray) -> ClassImages:
        return ClassImages(self.x[index], self.y[index], self.classes,
                           tuple(self.files[i] for i in index))


@dataclass(frozen=True)
class ClassSplit:
    train: ClassImages
    val: ClassImages
    mean: float
    """Normalisation statistics of the training split (stored with every checkpoint)."""
    std: float


# ---- simulation -------------------------------------------------------------------------------

def _simulate_one(job: tuple) -> tuple[str, int, np.ndarray]:
    folder_class, lens_class, index, seed, recipe = job
    return folder_class, index, simulate_lens_image(index, seed, lens_class, recipe)


def write_simulated_classes(
    out: Path, task: str, n_per_class: int, seed: int, recipe: LensingRecipe = LensingRecipe(),
    val_fraction: float = DEFAULT_VAL_FRACTION, workers: int | None = None, progress: bool = True,
) -> Path:
    """Simulate n images per class in the task's published layout, into the new folder `out`.

    classify: DIR/{train,val}/{no,sphere,vort}/<n>.npy, float32 (1,H,W), seeded split.
    anomaly: DIR/{no_sub,sub}/image_<n>.png, 8-bit.
    """
    classes = {c: c for c in LENS_CLASSES} if task == "classify" else ANOMALY_CLASSES
    jobs = [(folder, lens, i, seed, recipe) for folder, lens in classes.items()
            for i in range(n_per_class)]
    n_val = max(1, round(n_per_class * val_fraction)) if n_per_class > 1 else 0
    val_ids = set(np.random.default_rng(seed).permutation(n_per_class)[:n_val].tolist())
    with staged_folder(out) as staging:
        for folder, index, image in parallel_map(_simulate_one, jobs, workers,
                                                 f"simulating {task} images", "img", progress):
            if task == "classify":
                split = "val" if index in val_ids else "train"
                path = staging / split / folder / f"{index}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, image[None])
            else:
                path = staging / folder / f"image_{index}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
        metadata = {"task": task, "count_per_class": n_per_class, "seed": seed,
                    "classes": list(classes), "recipe": recipe.to_dict(),
                    "lenstune_version": __version__}
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return Path(out)


# ---- reading -----------------------------------------------------------------------------------

def _class_files(root: Path) -> dict[str, list[Path]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root}: needs at least two class folders, found {classes or 'none'}")
    files = {}
    for name in classes:
        found = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise UserError(f"{root / name}: class folder has no .npy, .png or .jpg images")
        files[name] = found
    return files


def _read_folder(root: Path, classes: list[str] | None = None) -> ClassImages:
    files = _class_files(root)
    if classes is not None and list(files) != classes:
        raise UserError(f"{root}: class folders {list(files)} differ from {classes}")
    names = list(files)
    images, labels, paths = [], [], []
    for label, name in enumerate(names):
        for path in files[name]:
            image = load_image(path)
            if images and image.shape != images[0].shape:
                raise UserError(f"{path}: size {image.shape} differs from {images[0].shape} "
                                f"({paths[0]})")
            images.append(image)
            labels.append(label)
            paths.append(str(path))
    return ClassImages(np.stack(images)[:, None], np.asarray(labels, dtype=np.int64),
                       tuple(names), tuple(paths))


def stratified_split(images: ClassImages, val_fraction: float, seed: int):
    """A seeded split keeping each class's share; at least one image of each class per side."""
    rng = np.random.default_rng(seed)
    val = []
    for label in range(len(images.classes)):
        members = np.flatnonzero(images.y == label)
        if len(members) < 2:
            raise UserError(f"class {images.classes[label]!r} has {len(members)} image(s); "
                            "a validation split needs at least 2")
        n_val = min(len(members) - 1, max(1, round(len(members) * val_fraction)))
        val.extend(rng.permutation(members)[:n_val].tolist())
    val_index = np.sort(np.asarray(val))
    train_index = np.setdiff1d(np.arange(len(images)), val_index)
    return images.subset(train_index), images.subset(val_index)


def resize(images: ClassImages, size: int | None) -> ClassImages:
    if size is None or images.x.shape[-1] == size and images.x.shape[-2] == size:
        return images
    x = F.interpolate(torch.from_numpy(images.x), size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False).numpy()
    return ClassImages(x, images.y, images.classes, images.files)


def _read_train_val(root: Path) -> tuple[ClassImages, ClassImages | None]:
    """(train, val) of a layout with train/ (and maybe val/), or (everything, None)."""
    root = data_folder(root)
    if not (root / "train").is_dir():
        return _read_folder(root), None
    train = _read_folder(root / "train")
    if not (root / "val").is_dir():
        return train, None
    val = _read_folder(root / "val", list(train.classes))
    if val.x.shape[1:] != train.x.shape[1:]:
        raise UserError(f"{root / 'val'}: image size {val.x.shape[2:]} differs from train "
                        f"{train.x.shape[2:]}")
    return train, val


def _pooled(train: ClassImages, val: ClassImages | None) -> ClassImages:
    if val is None:
        return train
    return ClassImages(np.concatenate([train.x, val.x]), np.concatenate([train.y, val.y]),
                       train.classes, train.files + val.files)


def read_all_class_images(root: Path) -> ClassImages:
    """Every image of a class-folder data set (train/ and val/ together, if split)."""
    return _pooled(*_read_train_val(root))


def read_class_images(root: Path, val_fraction: float | None, seed: int,
                      image_size: int | None = None) -> ClassSplit:
    """Read a class-folder data set (with or without train/ and val/), checked, split, resized.

    val_fraction None keeps the data set's own val/ folder, or makes the default seeded split
    where it has none; a fraction asked for re-splits even a data set with its own val/ (train/
    and val/ pooled), so that the flag always means what it says.
    """
    train, val = _read_train_val(root)
    if val_fraction is not None:
        train, val = _pooled(train, val), None
    if val is None:
        train, val = stratified_split(train, split_fraction(val_fraction), seed)
    train, val = resize(train, image_size), resize(val, image_size)
    std = float(train.x.std())
    return ClassSplit(train, val, mean=float(train.x.mean()), std=std if std > 0 else 1.0)
