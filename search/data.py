"""A search's data: the user's data set, or the default simulated once and cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables.data.class_images import ClassSplit, read_class_images, write_simulated_classes
from trainables.data.lensing import LensingRecipe
from trainables.data.sr_pairs import (
    SRSplit,
    read_sr_pairs,
    split_sr_pairs,
    write_simulated_sr_pairs,
)
from trainables.errors import UserError

logger = logging.getLogger(__name__)

DEFAULT_DATA_SEED = 0
"""The embedded default data set is the same for every search seed, so its cache is shared."""

SMALL_VALIDATION = 10
"""Fewer validation pairs (superres), or images of a class, than this and one image more or less
moves the metric by more than trials differ: 2 images give an AUC of 0, 0.5 or 1."""


@dataclass(frozen=True)
class PreparedData:
    split: SRSplit | ClassSplit
    source: str
    """The folder the data came from."""
    simulated: bool
    baseline: dict | None
    """Validation metrics of the task's baseline (bicubic for superres), if it has one."""
    baseline_name: str | None


def _simulate(task: str, folder: Path, count: int) -> None:
    if task == "superres":
        write_simulated_sr_pairs(folder, count, DEFAULT_DATA_SEED, LensingRecipe())
    else:
        write_simulated_classes(folder, task, count, DEFAULT_DATA_SEED, LensingRecipe())


def cached_default(task: str, count: int, cache_dir: Path) -> Path:
    """The default simulated data set of `count` items, simulating it on first use."""
    folder = Path(cache_dir) / f"{task}-n{count}-seed{DEFAULT_DATA_SEED}"
    if not folder.is_dir():
        logger.warning("simulating the default %s data set (%d) into %s", task, count, folder)
        try:
            _simulate(task, folder, count)
        except OSError as exc:
            raise UserError(f"cache folder {cache_dir}: cannot write ({exc.strerror})") from None
    return folder


def prepare_data(task: str, data: Path | None, sim_count: int, cache_dir: Path,
                 val_fraction: float | None, seed: int,
                 image_size: int | None = None) -> PreparedData:
    """Load the task's data into compact arrays, split into train and validation."""
    folder = Path(data) if data is not None else cached_default(task, sim_count, cache_dir)
    if task == "superres":
        from trainables.superres import bicubic_baseline

        split = split_sr_pairs(read_sr_pairs(folder), val_fraction, seed)
        return PreparedData(split, str(folder), data is None,
                            bicubic_baseline(split.val.lr, split.val.hr), "bicubic")
    split = read_class_images(folder, val_fraction, seed, image_size)
    if task == "anomaly" and len(split.train.classes) != 2:
        raise UserError(f"{folder}: anomaly detection needs exactly two class folders, found "
                        f"{list(split.train.classes)}")
    return PreparedData(split, str(folder), data is None, None, None)


def small_validation_note(split: SRSplit | ClassSplit) -> str | None:
    """A one-line note when the validation split is too small to rank trials, else None."""
    if isinstance(split, SRSplit):
        smallest, held = len(split.val), f"{len(split.val)} pairs"
    else:
        counts = np.bincount(split.val.y, minlength=len(split.val.classes))
        label = int(counts.argmin())
        smallest = int(counts[label])
        held = (f"{smallest} images of class '{split.val.classes[label]}' "
                f"({len(split.val)} in all)")
    if smallest >= SMALL_VALIDATION:
        return None
    return (f"note: the validation split holds only {held}, too few to rank trials by; simulate "
            "more (--sim-count), give more data, or raise --val-fraction")
