"""A search's data: the user's data set, or the default simulated once and cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class PreparedData:
    split: SRSplit
    source: str
    """The folder the data came from."""
    simulated: bool


def cached_default(task: str, count: int, cache_dir: Path) -> Path:
    """The default simulated data set of `count` items, simulating it on first use."""
    folder = Path(cache_dir) / f"{task}-n{count}-seed{DEFAULT_DATA_SEED}"
    if not folder.is_dir():
        logger.warning("simulating the default %s data set (%d) into %s", task, count, folder)
        try:
            write_simulated_sr_pairs(folder, count, DEFAULT_DATA_SEED, LensingRecipe())
        except OSError as exc:
            raise UserError(f"cache folder {cache_dir}: cannot write ({exc.strerror})") from None
    return folder


def prepare_data(task: str, data: Path | None, sim_count: int, cache_dir: Path,
                 val_fraction: float, seed: int) -> PreparedData:
    """Load the task's data into compact arrays, split into train and validation."""
    if task != "superres":
        raise UserError(f"--task {task!r}: no data reader")
    folder = Path(data) if data is not None else cached_default(task, sim_count, cache_dir)
    pairs = read_sr_pairs(folder)
    return PreparedData(split_sr_pairs(pairs, val_fraction, seed), str(folder), data is None)
