"""What one GPU did while a benchmark ran: nvidia-smi's utilisation and memory, sampled.

nvidia-smi's own sampling loop (`--loop-ms`) runs beside the benchmark, and a thread collects its
lines with the time each arrived, so that the samples of any window (the trials' span, say) can
be picked out afterwards. nvidia-smi ships with the NVIDIA driver: where there is a GPU, it is
there.
"""

from __future__ import annotations

import statistics
import subprocess
import threading
import time

from trainables.errors import UserError

QUERY = "utilization.gpu,memory.used"


def parse_sample(line: str) -> tuple[float, float] | None:
    """(utilisation %, memory used MiB) from one `--format=csv,noheader,nounits` line; None for
    a line without numbers (nvidia-smi writes `[N/A]` where a value is not available)."""
    try:
        utilisation, memory = (float(field) for field in line.split(","))
    except ValueError:
        return None
    return utilisation, memory


class GpuSampler:
    """`with GpuSampler() as gpu: ...`, then `gpu.samples`: (time, utilisation %, MiB used)."""

    def __init__(self, gpu: int = 0, interval_ms: int = 500, command: str = "nvidia-smi"):
        self.argv = [command, f"--query-gpu={QUERY}", "--format=csv,noheader,nounits",
                     f"--loop-ms={interval_ms}", f"--id={gpu}"]
        self.samples: list[tuple[float, float, float]] = []

    def __enter__(self) -> GpuSampler:
        try:
            self._process = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True)
        except OSError as error:
            raise UserError(f"cannot sample the GPU with {self.argv[0]}: {error}") from None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._process.stdout:
            sample = parse_sample(line)
            if sample is not None:
                self.samples.append((time.time(), *sample))

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)

    def summary(self, start: float = float("-inf"), end: float = float("inf")) -> dict:
        """Mean and median utilisation, and peak memory, of the samples taken in [start, end]."""
        window = [(u, m) for t, u, m in self.samples if start <= t <= end]
        if not window:
            return {"samples": 0, "mean_utilisation_pct": None,
                    "median_utilisation_pct": None, "peak_memory_mib": None}
        utilisation = [u for u, _ in window]
        return {"samples": len(window), "mean_utilisation_pct": statistics.mean(utilisation),
                "median_utilisation_pct": statistics.median(utilisation),
                "peak_memory_mib": max(m for _, m in window)}
