import math

import pytest
import torch

from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
from trainables.epochs import Diverged, DivergenceGuard
from trainables.models.sr_nets import build_sr_net
from trainables.srgan import Adversary
from trainables.superres import SRTrialConfig, fit


def test_one_adversarial_step_changes_both_nets():
    torch.manual_seed(0)
    generator = build_sr_net("srgan", 1, 8, "pixelshuffle")
    adversary = Adversary(features=8, lr=1e-3, weight=1e-2, device="cpu")
    g_before = [p.detach().clone() for p in generator.parameters()]
    d_before = [p.detach().clone() for p in adversary.net.parameters()]
    lr, hr = torch.rand(4, 1, 12, 12), torch.rand(4, 1, 24, 24)
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3)
    sr = generator(lr)
    loss = torch.nn.functional.mse_loss(sr, hr) + adversary.generator_term(sr)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    d_loss = adversary.step(sr, hr)
    assert math.isfinite(d_loss)
    assert any(not torch.equal(a, b) for a, b in zip(g_before, generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, adversary.net.parameters()))


def test_guard_stops_nan_and_a_collapsed_discriminator():
    with pytest.raises(Diverged, match="loss became nan"):
        DivergenceGuard(5).check(loss=float("nan"))
    guard = DivergenceGuard(3)
    guard.check(d_loss=1e-5)
    guard.check(d_loss=0.7)  # a recovery resets the count
    guard.check(d_loss=1e-5)
    guard.check(d_loss=1e-5)
    with pytest.raises(Diverged, match="collapsed"):
        guard.check(d_loss=1e-5)


@pytest.fixture(scope="module")
def split(sr_data):
    return split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)


def _srgan(**overrides):
    return SRTrialConfig.from_dict({"model": "srgan", "blocks": 1, "features": 8,
                                    "batch_size": 8, "disc_features": 8, "max_epochs": 3,
                                    "warmup_epochs": 1} | overrides)


def test_srgan_trains_and_reports_the_adversarial_losses(split, tmp_path):
    reports = []
    fit(_srgan(), split, lambda m, s: reports.append((m, s)), logdir=tmp_path)
    assert [m["epoch"] for m, _ in reports] == [1, 2, 3]
    assert reports[0][0]["train_d_loss"] == 0.0  # warm-up: content loss alone
    assert reports[-1][0]["train_d_loss"] > 0 and reports[-1][0]["train_adv_loss"] > 0
    assert all(m["diverged"] == 0 for m, _ in reports)
    assert "adversary" in reports[-1][1]["extra"]


def test_an_absurd_learning_rate_ends_the_trial_as_diverged(split):
    reports = []
    last = fit(_srgan(base_lr=1e12, lr_ratio=1.0, warmup_epochs=0), split,
               lambda m, s: reports.append((m, s)))
    metrics, state = reports[-1]
    assert metrics["diverged"] == 1 and state is None
    assert "became" in metrics["diverged_reason"] or "collapsed" in metrics["diverged_reason"]
    assert len(reports) <= 3 and last.get("diverged", 0) == 0
