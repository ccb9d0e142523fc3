"""Concurrency: trials per hour with 1 vs 2 concurrent one-thread trials on this machine.

The same N fixed superres trials run through `search.run` with `--concurrency 1` and
`--concurrency 2` (one CPU, so one torch thread, per trial), alternated: 1, 2, 1, 2, 1 with
the default two repeats, each run with 2 compared with the mean of the runs with 1 either side
of it (this machine's speed drifts by 20 % over minutes), the median over repeats reported.
Trials per hour in steady state are concurrency / mean trial time (each trial's own
`time_total_s`): what a long search sustains. Over the whole short run (Ray start-up and data
preparation left out, the first actor's start, Ray's shutdown and the report kept in) the
figure is also given. Target: >= 1.8x on 2 cores.
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
    p.add_argument("--repeats", type=int, default=2,
                   help="runs with 2 concurrent trials, each between two runs with 1")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1, got {args.repeats}")
    trials, epochs, count, features, repeats = (
        (2, 1, 24, 16, 1) if args.quick else
        (args.trials, args.epochs, args.sim_count, args.features, args.repeats))
    fixed = configs(trials, features)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        prepare_data(TASK, None, count, cache, 0.1, 0)  # simulate outside the timings
        for i, concurrency in enumerate([1, *[2, 1] * repeats]):
            name = f"c{concurrency}-{i}"
            phases = run_fixed(TASK, fixed, search_argv(
                TASK, len(fixed), epochs, concurrency, Path(tmp) / "runs", name, cache,
                ["--sim-count", str(count)]))
            durations = [r[-1]["time_total_s"] for r in trial_results(Path(tmp) / "runs" / name)]
            runs[concurrency].append({
                "mean_trial_s": statistics.mean(durations),
                "whole_run_s": phases["total"] - phases["data"] - phases["ray_start"]})
    steady, whole = [], []
    for k, two in enumerate(runs[2]):
        ones = runs[1][k:k + 2]  # the runs with 1 either side
        one_trial = statistics.mean(run["mean_trial_s"] for run in ones)
        one_whole = statistics.mean(run["whole_run_s"] for run in ones)
        steady.append((2 / two["mean_trial_s"]) / (1 / one_trial))
        whole.append(one_whole / two["whole_run_s"])
    figures: dict = {"trials": trials, "epochs_per_trial": epochs, "threads_per_trial": 1,
                     "repeats": repeats}
    for concurrency, done in runs.items():
        mean_trial = statistics.mean(run["mean_trial_s"] for run in done)
        whole_run = statistics.mean(run["whole_run_s"] for run in done)
        figures |= {
            f"concurrency_{concurrency}_mean_trial_s": mean_trial,
            f"concurrency_{concurrency}_trials_per_hour": concurrency / mean_trial * 3600,
            f"concurrency_{concurrency}_whole_run_s": whole_run,
            f"concurrency_{concurrency}_whole_run_trials_per_hour": trials / whole_run * 3600,
            f"concurrency_{concurrency}_runs": [
                {key: round(value, 2) for key, value in run.items()} for run in done]}
    figures |= {"steady_state_ratio_each": [round(r, 3) for r in steady],
                "whole_run_ratio_each": [round(r, 3) for r in whole],
                "whole_run_ratio": statistics.median(whole)}
    finish("concurrency", args, figures,
           ("steady-state trials/hour, 2 concurrent / 1 (median)", statistics.median(steady),
            f">= {TARGET}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
