import os
from pathlib import Path

import pytest

from trainables.data.lensing import LensingRecipe
from trainables.data.sr_pairs import write_simulated_sr_pairs

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

TINY = LensingRecipe().at_size(32)
"""HR 32x32, LR 16x16 over the recipe's field of view: tiny, but still lensing images."""


@pytest.fixture(scope="session")
def sr_data(tmp_path_factory) -> Path:
    """40 simulated tiny SR pairs in the published layout; shared, never modified."""
    return write_simulated_sr_pairs(tmp_path_factory.mktemp("data") / "sr", 40, seed=0,
                                    recipe=TINY, workers=1, progress=False)
