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


@pytest.fixture(scope="session")
def classify_data(tmp_path_factory) -> Path:
    """12 tiny simulated images per class in the published classify layout (train/ and val/)."""
    from trainables.data.class_images import write_simulated_classes

    return write_simulated_classes(tmp_path_factory.mktemp("data") / "classify", "classify", 12,
                                   seed=0, recipe=TINY, workers=1, progress=False)


@pytest.fixture(scope="session")
def anomaly_data(tmp_path_factory) -> Path:
    """12 tiny simulated 8-bit PNGs per class in the published anomaly layout (no split)."""
    from trainables.data.class_images import write_simulated_classes

    return write_simulated_classes(tmp_path_factory.mktemp("data") / "anomaly", "anomaly", 12,
                                   seed=0, recipe=TINY, workers=1, progress=False)


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime for a module's in-process searches, which use it as they would a
    notebook's `ray.init()` instead of each starting its own (~10 s apiece on 2 cores)."""
    import ray

    from cluster.runtime import start_ray

    start_ray(None, dashboard=False)
    yield
    ray.shutdown()  # not stop_ray: a search's own start_ray found it running, so its own
    # stop_ray left it so, and marked it as not started here
