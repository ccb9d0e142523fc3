"""Search overhead: N fixed superres trials through `search.run` vs a plain Python loop.

(a) calls the trainable's training function (`superres.fit`) N times in a loop; (b) runs the
same N configurations through `search.run --concurrency 1` (Ray Tune, Optuna, ASHA that never
stops, checkpoints, TensorBoard, the report). Data preparation is left out of both. Reported:
wall(b)/wall(a) with and without Ray's start-up (the median over repeats, each search timed
between two loops), and where (b)'s extra time goes: a fixed part paid once per search (first
trial actor, Ray shutdown with the report written meanwhile) and a part that grows with the
trials (inside them, and between them). From the two, the number of ~10 s trials from which
the ratio is within target.
Also: the ratio against a loop charged its own cold start, measured in a fresh process
(bench.cold_loop: imports, CUDA and cuDNN starting, torch's first optimizer), which the
search's trial actor pays as well.
Target: <= 1.15 on trials of about 10 s.
"""

from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path

from bench import cold_loop
from bench.common import add_gpu_option, finish, parser, training_device
from bench.fixed_search import (
    plain_loop,
    run_fixed,
    search_argv,
    spread_lrs,
    trial_configs,
    trial_results,
    trial_start,
)
from search.config import default_cache_dir
from search.data import prepare_data
from trainables.errors import exits_cleanly

TARGET = 1.15
TASK = "superres"


def configs(n: int, features: int) -> list[dict]:
    """n SRResNet-1 trials differing only in their learning rate."""
    return [{"model": "srresnet", "blocks": 1, "upsample": "pixelshuffle", "features": features,
             "loss": "mse", "batch_size": 16, "base_lr": lr, "lr_ratio": 5.0}
            for lr in spread_lrs(n)]


def per_search_and_per_trial(row: dict, trials: int) -> dict:
    """(b)'s excess over (a) split into what a search pays once and what each trial adds.

    Once per search: Tune's time outside the trainables (the first actor's start-up, and the
    few ms of scheduling between trials, counted here as fixed), the first trial's warm-up of a
    fresh process (imports, torch's first optimizer: its time beyond the median of the other
    trials), Ray's shutdown with the report written meanwhile (search.run overlaps the two).
    Per trial: the rest of the time inside the trainables beyond the loop's.
    """
    fixed = (row["b_tune_outside_trainables_s"] + row["b_first_trial_warmup_s"]
             + row["b_stop_and_report_s"])
    per_trial = (row["b_inside_trainables_s"] - row["b_first_trial_warmup_s"]
                 - row["a_loop_s"]) / trials
    loop_trial = row["a_loop_s"] / trials
    margin = (TARGET - 1) * loop_trial - per_trial  # what each trial leaves for the fixed part
    return {"b_fixed_per_search_s": fixed, "b_excess_per_trial_s": per_trial,
            "trials_for_target": math.ceil(fixed / margin) if margin > 0 else None}


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("search_overhead", __doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3, help="epochs per trial (~3 s each)")
    p.add_argument("--sim-count", type=int, default=600, help="simulated SR pairs")
    p.add_argument("--features", type=int, default=16, choices=(16, 32, 64),
                   help="SRResNet width (sets trial length; one the superres space offers)")
    p.add_argument("--repeats", type=int, default=2,
                   help="searches, each between two loops (the median ratio is reported)")
    add_gpu_option(p)
    args = p.parse_args(argv)
    device = training_device(args.gpus_per_trial)
    trials, epochs, count, features, repeats = (
        (2, 1, 24, 16, 1) if args.quick else
        (args.trials, args.epochs, args.sim_count, args.features, args.repeats))
    fixed = configs(trials, features)
    loops, searches = [], []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        extra = ["--sim-count", str(count), "--gpus-per-trial", str(args.gpus_per_trial)]
        data = prepare_data(TASK, None, count, cache, 0.1, 0)  # simulates once if not cached
        cold = cold_loop.measure(TASK, fixed[0], count, cache, device)
        # Loop, search, loop, search, loop: each search is compared with the mean of the loops
        # either side of it, since this machine's speed drifts by 20 % over minutes.
        plain_loop(TASK, fixed[:1], data.split, 1, device=device)  # warm-up: kernels, imports
        loops.append(plain_loop(TASK, fixed, data.split, epochs, device=device))
        for repeat in range(repeats):
            name = f"overhead{repeat}"
            phases = run_fixed(TASK, fixed, search_argv(TASK, len(fixed), epochs, 1,
                                                        Path(tmp) / "runs", name, cache, extra))
            experiment = Path(tmp) / "runs" / name
            ran = trial_configs(experiment)
            if sorted(c["base_lr"] for c in ran) != sorted(c["base_lr"] for c in fixed):
                raise RuntimeError("search.run did not run the fixed configurations")
            # Each trial's time in its trainable, in the order the trials started.
            results = sorted(trial_results(experiment), key=trial_start)
            inside = [trial[-1]["time_total_s"] for trial in results]
            phases["inside_trainables"] = sum(inside)
            phases["inside_each"] = inside
            # A trial that did not get the reused actor pays a fresh process's start again.
            phases["trial_actors"] = len({trial[0]["pid"] for trial in results})
            phases["first_trial_warmup"] = (inside[0] - statistics.median(inside[1:])
                                            if len(inside) > 1 else 0.0)
            searches.append(phases)
            loops.append(plain_loop(TASK, fixed, data.split, epochs, device=device))
    rows = []
    for i, phases in enumerate(searches):
        loop_s = (loops[i] + loops[i + 1]) / 2
        search_s = phases["total"] - phases["data"]
        without_start = search_s - phases["ray_start"]
        tune_s = without_start - phases["stop_and_report"]
        rows.append({
            "a_loop_s": loop_s, "b_search_s": search_s, "b_ray_start_s": phases["ray_start"],
            "b_tune_fit_s": tune_s, "b_ray_stop_s": phases["ray_stop"],
            "b_report_s": phases["report"], "b_stop_and_report_s": phases["stop_and_report"],
            "b_inside_trainables_s": phases["inside_trainables"],
            "b_tune_outside_trainables_s": tune_s - phases["inside_trainables"],
            "b_first_trial_warmup_s": phases["first_trial_warmup"],
            "ratio_with_ray_start": search_s / loop_s,
            "ratio_without_ray_start": without_start / loop_s,
            "b_trial_actors": phases["trial_actors"]})
    median = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    median |= per_search_and_per_trial(median, trials)
    # A plain loop's own cold start in a fresh process: its imports, and its first epoch's
    # time beyond the loops' mean epoch.
    per_trial = statistics.mean(loops) / trials
    cold["start_s"] = cold["imports_s"] + max(0.0, cold["fit_s"] - per_trial / epochs)
    median["ratio_without_ray_start_cold_loop"] = statistics.median(
        (row["b_search_s"] - row["b_ray_start_s"]) / (row["a_loop_s"] + cold["start_s"])
        for row in rows)
    figures = {"trials": trials, "epochs_per_trial": epochs, "threads_per_trial": 1,
               "device": device, "gpus_per_trial": args.gpus_per_trial,
               "repeats": repeats, "a_loops_s": [round(t, 2) for t in loops],
               "a_per_trial_s": per_trial} | {
                   f"a_cold_{key}": value for key, value in cold.items()} | median | {
                   f"{key}_each": [round(row[key], 3) for row in rows]
                   for key in ("ratio_without_ray_start", "ratio_with_ray_start")} | {
                   # Every search's split and each trial's seconds inside its trainable, to
                   # tell a slow search's extra time apart: outside the trials, or in them.
                   "searches": [{key: round(value, 3) for key, value in row.items()}
                                | {"inside_each_s": [round(t, 2) for t in phases["inside_each"]]}
                                for row, phases in zip(rows, searches)]}
    finish("search_overhead", args, figures,
           ("wall(search.run) / wall(loop), without Ray start-up (median)",
            median["ratio_without_ray_start"], f"<= {TARGET}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
