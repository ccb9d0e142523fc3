"""A plain training loop's cold start, in a fresh process: what a script that calls the task's
training function pays once before its first epoch is done (importing torch and the task's
loop, CUDA and cuDNN starting, torch's first optimizer importing torch._dynamo).

bench.search_overhead charges the loop side this once-only cost, beside its headline ratio, as
the search's first trial pays the same in its actor. Run by it as

    python -m bench.cold_loop '{"task": ..., "config": {...}, "count": N, "cache": DIR,
                                "device": "cpu" | "cuda"}'

which trains the configuration for one epoch on the cached data set and prints one JSON line:
imports_s (torch and the task's loop), data_s (loading the cached set: left out, as data
preparation is on both sides) and fit_s (the one epoch, with everything its first run starts).
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from trainables.errors import UserError, exits_cleanly  # noqa: E402


def measure(task: str, config: dict, count: int, cache: Path, device: str) -> dict:
    """Run this module in a fresh Python process; its three timings."""
    spec = {"task": task, "config": config, "count": count, "cache": str(cache), "device": device}
    done = subprocess.run([sys.executable, "-m", "bench.cold_loop", json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:  # its own error line, or a traceback's last line
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise UserError(f"bench.cold_loop failed: {lines[-1].removeprefix('error: ')}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@exits_cleanly
def main() -> int:
    spec = json.loads(sys.argv[1])
    import torch  # noqa: F401

    from tasks import get_task

    fit = get_task(spec["task"])
    imports = time.perf_counter() - START
    from search.data import prepare_data

    start = time.perf_counter()
    data = prepare_data(spec["task"], None, spec["count"], Path(spec["cache"]), 0.1, 0)
    loaded = time.perf_counter() - start
    # Not bench.fixed_search.plain_loop: importing it imports search.run, and with it
    # torch._dynamo, part of the cold start measured here.
    cfg = fit.trial_config.from_dict({**spec["config"], "task": spec["task"], "max_epochs": 1,
                                      "seed": 0, "threads": 1, "device": spec["device"]})
    start = time.perf_counter()
    fit.fit(cfg, data.split, lambda metrics, state: None)
    print(json.dumps({"imports_s": imports, "data_s": loaded,
                      "fit_s": time.perf_counter() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
