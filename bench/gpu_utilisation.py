"""GPU utilisation: 1, 2 and 4 trials packed on one GPU with fractional `--gpus-per-trial`.

The same N fixed classify trials (ResNet18 at the stored 150x150, as a cluster-preset trial
trains) run through `search.run` with k trials per GPU: `--concurrency k --gpus-per-trial 1/k`,
k = 1, 2, 4. nvidia-smi samples the GPU's utilisation and memory every 0.5 s meanwhile. Reported
per k: trials per hour in steady state (k / the mean trial's time), the GPU's mean utilisation
over the span in which trials ran, its peak memory. The ratio: trials per hour at the best k
over one trial per GPU. `--precision bf16` trains every trial in bf16 autocast. Needs a CUDA GPU.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.common import finish, parser, require_cuda
from bench.fixed_search import run_fixed, search_argv, spread_lrs, trial_results, trial_start
from bench.gpu_sampler import GpuSampler
from search.config import default_cache_dir
from search.data import prepare_data
from trainables.errors import exits_cleanly
from trainables.precision import PRECISIONS

TASK = "classify"
PACKINGS = (1, 2, 4)


def configs(n: int) -> list[dict]:
    """n ResNet18 trials (the reference configuration) differing only in their learning rate."""
    return [{"family": "resnet", "resnet_model": "resnet18", "pretrained": False,
             "dropout": 0.0, "batch_size": 64, "weight_decay": 3e-5, "augment": True,
             "base_lr": lr, "lr_ratio": 5.0} for lr in spread_lrs(n)]


def trials_span(results: list[list[dict]]) -> tuple[float, float]:
    """From the first trial's start to the last trial's last result (Ray's timestamps)."""
    starts = [trial_start(trial) for trial in results if trial]
    ends = [trial[-1]["timestamp"] for trial in results if trial]
    return min(starts), max(ends)


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("gpu_utilisation", __doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=8, help="trials per packing (a multiple of 4)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sim-count", type=int, default=1000, help="simulated images per class")
    p.add_argument("--cpus-per-trial", type=float, default=2.0)
    p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    args = p.parse_args(argv)
    require_cuda("bench.gpu_utilisation needs a CUDA GPU")
    import torch

    trials, epochs, count = (4, 1, 16) if args.quick else (args.trials, args.epochs,
                                                           args.sim_count)
    fixed = configs(trials)
    figures: dict = {"trials": trials, "epochs_per_trial": epochs, "images_per_class": count,
                     "cpus_per_trial": args.cpus_per_trial, "precision": args.precision,
                     "gpu": torch.cuda.get_device_name(0)}
    per_hour = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        prepare_data(TASK, None, count, cache, 0.1, 0, None)  # simulate outside the timings
        for k in PACKINGS:
            name = f"packed{k}"
            with GpuSampler() as gpu:
                run_fixed(TASK, fixed, search_argv(
                    TASK, len(fixed), epochs, k, Path(tmp) / "runs", name, cache,
                    ["--sim-count", str(count), "--image-size", "150", "--gpus-per-trial",
                     f"{1 / k:g}", "--precision", args.precision],
                    cpus_per_trial=f"{args.cpus_per_trial:g}"))
            results = trial_results(Path(tmp) / "runs" / name)
            if any(r[-1].get("device") != "cuda" for r in results):
                raise RuntimeError("a trial did not train on the GPU")
            mean_trial = statistics.mean(r[-1]["time_total_s"] for r in results)
            per_hour[k] = k / mean_trial * 3600
            figures[f"k{k}_mean_trial_s"] = mean_trial
            figures[f"k{k}_trials_per_hour"] = per_hour[k]
            figures |= {f"k{k}_{key}": value
                        for key, value in gpu.summary(*trials_span(results)).items()}
    best = max(per_hour, key=per_hour.get)
    figures["best_trials_per_gpu"] = best
    finish("gpu_utilisation", args, figures,
           (f"trials/hour, {best} per GPU / 1 per GPU", per_hour[best] / per_hour[1],
            "> 1 (packing pays while one trial leaves the GPU idle)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
