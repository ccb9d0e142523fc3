"""Concurrency: trials per hour with 1 vs 2 concurrent one-thread trials on this machine.

The same N fixed superres trials run through `search.run` twice, with `--concurrency 1` and
`--concurrency 2` (one CPU, so one torch thread, per trial). Trials per hour in steady state are
concurrency / mean trial time (each trial's own `time_total_s`): what a long search sustains.
Over the whole short run (Ray start-up and data preparation left out, the first actor's start,
Ray's shutdown and the report kept in) the figure is also given. Target: >= 1.8x on 2 cores.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.common import finish, parser
from bench.fixed_search import run_fixed, search_argv, trial_results
from bench.search_overhead import configs
from search.config import default_cache_dir
from search.data import prepare_data
from trainables.errors import exits_cleanly

TARGET = 1.8
TASK = "superres"


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("concurrency", __doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=6, help="trials per run (even)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--sim-count", type=int, default=600)
    p.add_argument("--features", type=int, default=32, choices=(16, 32, 64),
                   help="SRResNet width (one the superres space offers)")
    args = p.parse_args(argv)
    trials, epochs, count, features = ((2, 1, 24, 16) if args.quick else
                                       (args.trials, args.epochs, args.sim_count, args.features))
    fixed = configs(trials, features)
    figures: dict = {"trials": trials, "epochs_per_trial": epochs, "threads_per_trial": 1}
    per_hour, whole = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        prepare_data(TASK, None, count, cache, 0.1, 0)  # simulate outside the timings
        for concurrency in (1, 2):
            phases = run_fixed(TASK, fixed, search_argv(
                TASK, len(fixed), epochs, concurrency, Path(tmp) / "runs", f"c{concurrency}", cache,
                ["--sim-count", str(count)]))
            seconds = phases["total"] - phases["data"] - phases["ray_start"]
            durations = [r[-1]["time_total_s"]
                         for r in trial_results(Path(tmp) / "runs" / f"c{concurrency}")]
            per_hour[concurrency] = concurrency / statistics.mean(durations) * 3600
            figures[f"concurrency_{concurrency}_mean_trial_s"] = statistics.mean(durations)
            figures[f"concurrency_{concurrency}_trials_per_hour"] = per_hour[concurrency]
            figures[f"concurrency_{concurrency}_whole_run_s"] = seconds
            whole[concurrency] = trials / seconds * 3600
            figures[f"concurrency_{concurrency}_whole_run_trials_per_hour"] = whole[concurrency]
    figures["whole_run_ratio"] = whole[2] / whole[1]
    finish("concurrency", args, figures,
           ("steady-state trials/hour, 2 concurrent / 1", per_hour[2] / per_hour[1],
            f">= {TARGET}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
