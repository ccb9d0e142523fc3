"""Memory: peak memory of a whole search run with 1 vs 4 concurrent trials on the same data.

Each run is a separate `search.run` process (via bench.fixed_search: 4 fixed superres trials);
its whole process tree (driver, Ray's GCS, raylet and object store, trial workers) is sampled
while it runs, summing each process's proportional set size (PSS: shared pages, such as the
object store's, are split between the processes mapping them, so nothing is counted twice).
The data set is held once per node in Ray's object store and read zero-copy by every trial, so
the target is <= 1.5x.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.common import finish, parser
from bench.fixed_search import search_argv
from search.config import default_cache_dir
from search.data import prepare_data
from trainables.errors import exits_cleanly

TARGET = 1.5
TASK = "superres"
TRIALS = 4


def tree_memory(root: psutil.Process) -> tuple[int, int]:
    """(PSS or RSS sum in bytes, process count) of root and all its descendants."""
    total, count = 0, 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for process in processes:
        try:
            info = process.memory_full_info()
            total += getattr(info, "pss", info.rss)
            count += 1
        except psutil.Error:
            pass  # ended between listing and reading
    return total, count


def peak_memory(command: list[str], env: dict, interval: float = 0.5) -> dict:
    """Run command, sampling its process tree; the peak and the output of the run."""
    peak = {"bytes": 0, "processes": 0}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    root = psutil.Process(process.pid)
    done = threading.Event()

    def sample():
        while not done.is_set():
            used, count = tree_memory(root)
            if used > peak["bytes"]:
                peak.update(bytes=used, processes=count)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{output[-3000:]}")
    return peak


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("memory", __doc__.splitlines()[0])
    p.add_argument("--sim-count", type=int, default=10000,
                   help="simulated SR pairs (10000, the cluster preset's: ~1.1 GB of float32)")
    args = p.parse_args(argv)
    # --quick: 1 vs 2 trials, each search.run process starting its own Ray and trial workers.
    count, trials = (24, 2) if args.quick else (args.sim_count, TRIALS)
    trial = {"model": "srcnn", "blocks": 0, "upsample": "bicubic", "features": 16, "loss": "mse",
             "batch_size": 32, "lr_ratio": 5.0}
    fixed = [trial | {"base_lr": 1e-4 * (1 + i)} for i in range(trials)]
    figures: dict = {"trials": trials, "sim_pairs": count, "measure": "sum of PSS"}
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        data = prepare_data(TASK, None, count, cache, 0.1, 0)
        figures["data_mib"] = sum(a.nbytes for s in (data.split.train, data.split.val)
                                  for a in (s.lr, s.hr)) / 2**20
        del data
        configs = Path(tmp) / "configs.json"
        configs.write_text(json.dumps(fixed))
        for concurrency in (1, trials):
            # 1 CPU per trial alone; two CPUs shared by all the trials at once (each 1 thread).
            cpus = "1" if concurrency == 1 else str(2 / trials)
            argv_run = search_argv(TASK, len(fixed), 1, concurrency, Path(tmp) / "runs",
                                   f"m{concurrency}", cache, ["--sim-count", str(count)],
                                   cpus_per_trial=cpus)
            command = [sys.executable, "-m", "bench.fixed_search", str(configs), "--", *argv_run]
            start = time.perf_counter()
            peak = peak_memory(command, os.environ.copy())
            peaks[concurrency] = peak["bytes"]
            figures[f"concurrency_{concurrency}_peak_mib"] = peak["bytes"] / 2**20
            figures[f"concurrency_{concurrency}_processes_at_peak"] = peak["processes"]
            figures[f"concurrency_{concurrency}_wall_s"] = time.perf_counter() - start
    finish("memory", args, figures,
           (f"peak memory, {trials} concurrent trials / 1", peaks[trials] / peaks[1],
            f"<= {TARGET}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
