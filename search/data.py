"""A search's data: the user's data set, or the default simulated once and cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tasks import get_task
from trainables.data.lensing import LensingRecipe
from trainables.errors import UserError

logger = logging.getLogger(__name__)

DEFAULT_DATA_SEED = 0
"""The embedded default data set is the same for every search seed, so its cache is shared."""

SMALL_VALIDATION = 10
"""Fewer validation pairs (superres), or images of a class, than this and one image more or less
moves the metric by more than trials differ: 2 images give an AUC of 0, 0.5 or 1."""


@dataclass(frozen=True)
class PreparedData:
    split: object
    """The task's split (train and val), as its loop takes it."""
    source: str
    """The folder the data came from."""
    simulated: bool
    baseline: dict | None
    """Validation metrics of the task's baseline (bicubic for superres), if it has one."""
    baseline_name: str | None


def cached_default(task: str, count: int, cache_dir: Path) -> Path:
    """The default simulated data set of `count` items, simulating it on first use."""
    folder = Path(cache_dir) / f"{task}-n{count}-seed{DEFAULT_DATA_SEED}"
    if not folder.is_dir():
        logger.warning("simulating the default %s data set (%d) into %s", task, count, folder)
        try:
            get_task(task).simulate(folder, count, DEFAULT_DATA_SEED, LensingRecipe())
        except OSError as exc:
            raise UserError(f"cache folder {cache_dir}: cannot write ({exc.strerror})") from None
    return folder


def prepare_data(task: str, data: Path | None, sim_count: int, cache_dir: Path,
                 val_fraction: float | None, seed: int,
                 image_size: int | None = None) -> PreparedData:
    """Load the task's data into compact arrays, split into train and validation."""
    folder = Path(data) if data is not None else cached_default(task, sim_count, cache_dir)
    the_task = get_task(task)
    split = the_task.read(folder, val_fraction, seed, image_size)
    name, metrics = the_task.baseline(split) or (None, None)
    return PreparedData(split, str(folder), data is None, metrics, name)


def small_validation_note(task: str, split) -> str | None:
    """A one-line note when the validation split is too small to rank trials, else None."""
    smallest, held = get_task(task).validation_size(split)
    if smallest >= SMALL_VALIDATION:
        return None
    return (f"note: the validation split holds only {held}, too few to rank trials by; simulate "
            "more (--sim-count), give more data, or raise --val-fraction")
