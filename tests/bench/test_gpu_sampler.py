"""The GPU sampler reads nvidia-smi's sampling loop; here a stand-in nvidia-smi writes the same
lines (this machine has no GPU)."""

import os
import time

import pytest

from bench.gpu_sampler import GpuSampler, parse_sample
from bench.gpu_utilisation import trials_span
from trainables.errors import UserError

FAKE = """#!/bin/sh
# the arguments the sampler must pass, else no output
case "$*" in
  *--query-gpu=utilization.gpu,memory.used*--format=csv,noheader,nounits*--loop-ms=*) ;;
  *) exit 3 ;;
esac
echo "35, 1200"
echo "[N/A], [N/A]"
echo "90, 2400"
exec sleep 30
"""


def test_parse_sample():
    assert parse_sample("87, 10240\n") == (87.0, 10240.0)
    assert parse_sample("[N/A], [N/A]") is None
    assert parse_sample("") is None


def test_sampler_collects_timed_samples_and_summarises_a_window(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    before = time.time()
    with GpuSampler(command=str(fake)) as gpu:
        deadline = time.time() + 10
        while len(gpu.samples) < 2 and time.time() < deadline:
            time.sleep(0.05)
    assert [(u, m) for _, u, m in gpu.samples] == [(35.0, 1200.0), (90.0, 2400.0)]
    assert all(before <= t <= time.time() for t, _, _ in gpu.samples)
    summary = gpu.summary()
    assert summary == {"samples": 2, "mean_utilisation_pct": 62.5,
                       "median_utilisation_pct": 62.5, "peak_memory_mib": 2400.0}
    assert gpu.summary(end=before - 1)["samples"] == 0


def test_a_missing_nvidia_smi_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot sample the GPU"):
        with GpuSampler(command=os.fspath(tmp_path / "no-such-tool")):
            pass


def test_trials_span_runs_from_the_first_start_to_the_last_result():
    results = [[{"timestamp": 110, "time_total_s": 10.0}, {"timestamp": 120, "time_total_s": 20}],
               [{"timestamp": 105, "time_total_s": 2.0}, {"timestamp": 130, "time_total_s": 27}]]
    assert trials_span(results) == (100.0, 130)
