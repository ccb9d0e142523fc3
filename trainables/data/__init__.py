"""Data sets: the lensing simulator, the published-layout readers and in-memory tensor sets."""

DEFAULT_VAL_FRACTION = 0.1
"""The seeded validation split made when none is asked for and the data set brings none."""


def split_fraction(val_fraction: float | None) -> float:
    """The validation fraction to split with: the one asked for, else the default."""
    return DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction
