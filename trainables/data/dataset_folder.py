"""Writing a simulated data set: its images made on all cores, its folder appearing only whole."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from trainables.errors import UserError

METADATA_FILE = "metadata.json"


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Yield a hidden staging folder beside `out` (which must not exist yet); rename it to `out`
    when the block succeeds, delete it when the block fails, so no half data set is ever left."""
    out = Path(out)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose a new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def parallel_map(fn: Callable, jobs: list, workers: int | None, desc: str, unit: str,
                 progress: bool = True) -> Iterable:
    """fn over jobs on `workers` processes (default: all cores), results in completion order,
    with a progress bar. fn must seed itself from its job, so results do not depend on workers."""
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress)
    try:
        if workers == 1:
            for job in jobs:
                yield fn(job)
                bar.update()
        else:
            # fork, not spawn: spawn re-imports __main__, which breaks under notebooks, `python -`.
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for item in pool.imap_unordered(fn, jobs, chunksize=8):
                    yield item
                    bar.update()
    finally:
        bar.close()
