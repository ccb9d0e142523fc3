"""The throughput benchmark: the reference loop's time waiting for its data, and its loops in bf16
where the device has bf16 units."""

import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

import bench.throughput as throughput
from bench.throughput import data_share, reference_epoch


class SlowSamples(Dataset):
    def __init__(self, seconds: float):
        self.seconds = seconds

    def __len__(self):
        return 8

    def __getitem__(self, i):
        time.sleep(self.seconds)
        return torch.full((4,), float(i)), i % 2


def _epoch(seconds: float, precision: str = "fp32") -> tuple[list[float], float]:
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, 1.0)
    waits: list[float] = []
    start = time.perf_counter()
    seen = reference_epoch((model, optimizer, scheduler),
                           DataLoader(SlowSamples(seconds), batch_size=4), F.cross_entropy,
                           waits=waits, precision=precision)
    assert seen == 8
    return waits, time.perf_counter() - start


def test_a_loop_starved_by_its_loader_waits_most_of_its_epoch():
    _epoch(0.0)  # torch's first optimizer step imports torch._dynamo: not the loop's steady cost
    waits, epoch = _epoch(0.03)  # 8 x 30 ms of data against microseconds of a linear step
    assert len(waits) == 1 and 0.24 <= waits[0] <= epoch
    figures = data_share(waits, [epoch])
    assert figures["reference_data_share"] > 0.8
    assert figures["data_path_ceiling"] == pytest.approx(1 / (1 - waits[0] / epoch))


def test_a_loop_with_free_data_has_no_ceiling_to_speak_of():
    waits, epoch = _epoch(0.0)
    assert waits[0] < epoch
    assert data_share([0.0, 0.0, 0.0], [1.0, 2.0, 3.0]) == {
        "reference_data_share": 0.0, "data_path_ceiling": 1.0}


def test_the_bf16_reference_computes_in_bf16_and_learns_in_fp32(monkeypatch):
    seen = []
    forward = torch.nn.Linear.forward

    def recording(self, x):
        out = forward(self, x)
        seen.append((out.dtype, self.weight.dtype))
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", recording)
    _epoch(0.0, "bf16")
    assert seen and set(seen) == {(torch.bfloat16, torch.float32)}
    assert data_share([0.5], [1.0], "reference_bf16") == {
        "reference_bf16_data_share": 0.5, "data_path_bf16_ceiling": 2.0}


@pytest.mark.parametrize("units", [True, False])
def test_bf16_loops_run_only_where_the_device_has_bf16_units(units, monkeypatch):
    monkeypatch.setattr(throughput, "has_bf16_units", lambda device: units)
    assert ("lenstune_bf16" in throughput._variants("cpu")) == units
    assert list(throughput._references("cpu")) == ["reference", "reference_bf16"][:1 + units]
