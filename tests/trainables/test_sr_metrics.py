import math

import pytest
import torch

from trainables.errors import UserError
from trainables.models.sr_nets import build_sr_net
from trainables.sr_metrics import bicubic_x2, psnr, sr_loss, sr_scores, ssim


def test_psnr_of_identical_images_is_inf_and_ssim_is_one():
    image = torch.rand(3, 1, 24, 24)
    assert math.isinf(psnr(image, image).item())
    assert ssim(image, image).item() == pytest.approx(1.0)


def test_psnr_of_a_known_pair():
    target = torch.zeros(2, 1, 8, 8)
    pred = torch.full_like(target, 0.1)  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert psnr(pred, target).item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_is_the_mean_over_images_not_over_pixels():
    target = torch.zeros(2, 1, 8, 8)
    pred = torch.stack([torch.full((1, 8, 8), 0.1), torch.full((1, 8, 8), 0.01)])
    assert psnr(pred, target).item() == pytest.approx((20.0 + 40.0) / 2, abs=1e-3)


def test_scores_are_batch_sums_of_clamped_predictions():
    target = torch.zeros(4, 1, 8, 8)
    scores = sr_scores(torch.full_like(target, -1.0), target)  # clamped to 0: a perfect match
    assert scores["mse"] == 0.0 and math.isinf(scores["psnr"])


def test_bicubic_doubles_and_stays_in_range():
    up = bicubic_x2(torch.rand(2, 1, 10, 12))
    assert up.shape == (2, 1, 20, 24) and up.min() >= 0 and up.max() <= 1


@pytest.mark.parametrize("loss_name", ["ssim", "mse", "mse+ssim"])
def test_each_loss_decreases_on_a_fixed_batch(loss_name):
    torch.manual_seed(0)
    lr, hr = torch.rand(4, 1, 12, 12), torch.rand(4, 1, 24, 24)
    net = build_sr_net("edsr", 1, 8, "pixelshuffle")
    loss_fn = sr_loss(loss_name)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = loss_fn(net(lr), hr).item()
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn(net(lr), hr)
        loss.backward()
        optimizer.step()
    assert loss_fn(net(lr), hr).item() < 0.9 * first


def test_unknown_loss_is_a_user_error():
    with pytest.raises(UserError, match="unknown SR loss 'l1'"):
        sr_loss("l1")


@pytest.mark.parametrize("shape", [(3, 1, 32, 32), (2, 1, 75, 40), (1, 2, 24, 24)])
def test_ssim_and_psnr_equal_torchmetrics(shape):
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    gen = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=gen)
    pred = (target + 0.1 * torch.randn(shape, generator=gen)).clamp(0, 1)
    expected_ssim = structural_similarity_index_measure(pred, target, data_range=1.0)
    expected_psnr = peak_signal_noise_ratio(pred, target, data_range=1.0, dim=(1, 2, 3))
    assert ssim(pred, target).item() == pytest.approx(expected_ssim.item(), abs=1e-6)
    assert psnr(pred, target).item() == pytest.approx(expected_psnr.item(), abs=1e-5)


def test_ssim_loss_gradient_equals_torchmetrics():
    from torchmetrics.functional.image import structural_similarity_index_measure

    gen = torch.Generator().manual_seed(1)
    target = torch.rand(2, 1, 20, 16, generator=gen)
    ours = torch.rand(2, 1, 20, 16, generator=gen, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    (1 - ssim(ours, target)).backward()
    (1 - structural_similarity_index_measure(theirs, target, data_range=1.0)).backward()
    assert ours.grad.abs().sum() > 0
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-4, atol=1e-7)
