"""SRGAN's adversarial part (trainables.epochs' guard ends a trial whose discriminator collapses).

The generator is the SRResNet of `models/sr_nets.py`; this module holds the discriminator's side
of training. No perceptual (VGG) loss: no pretrained weights can be fetched on these machines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SRDiscriminator(nn.Module):
    """A small strided-conv classifier of HR images: real (1) or super-resolved (0), one logit."""

    def __init__(self, features: int = 32) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out),
                    nn.LeakyReLU(0.2, inplace=True)]

        self.body = nn.Sequential(
            nn.Conv2d(1, features, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
            *block(features, features, 2), *block(features, 2 * features, 1),
            *block(2 * features, 2 * features, 2), *block(2 * features, 4 * features, 1),
            *block(4 * features, 4 * features, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * features, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)


class Adversary:
    """The discriminator, its own Adam, and the adversarial term of the generator's loss."""

    def __init__(self, features: int, lr: float, weight: float, device: str) -> None:
        self.net = SRDiscriminator(features).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.9, 0.999))
        self.weight = weight

    def generator_term(self, sr: torch.Tensor) -> torch.Tensor:
        """weight * BCE(D(sr), real): how much the generator is rewarded for fooling D."""
        logits = self.net(sr)
        return self.weight * F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def step(self, sr: torch.Tensor, hr: torch.Tensor) -> float:
        """One discriminator update on real HR and (detached) super-resolved crops."""
        self.net.train()
        real, fake = self.net(hr), self.net(sr.detach())
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
