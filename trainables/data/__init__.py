"""Data sets: the lensing simulator, the published-layout readers and in-memory tensor sets."""

from pathlib import Path

from trainables.errors import UserError

DEFAULT_VAL_FRACTION = 0.1
"""The seeded validation split made when none is asked for and the data set brings none."""


def split_fraction(val_fraction: float | None) -> float:
    """The validation fraction to split with: the one asked for, else the default."""
    return DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction


def data_folder(root) -> Path:
    """`root` as a Path, or a UserError saying why it cannot be a data set's folder."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise UserError(f"data folder {root} is a file, not a folder")
    return root
