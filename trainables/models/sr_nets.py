"""Super-resolution nets (BasicSR style): SRCNN, SRResNet, an EDSR-style residual net.

Each maps (B,1,h,w) to (B,1,2h,2w) for any h, w. Built by name through `build_sr_net`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from trainables.errors import UserError

SR_NETS: dict[str, Callable[..., nn.Module]] = {}
UPSAMPLERS = ("pixelshuffle", "deconv")


def register_sr_net(name: str) -> Callable:
    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in SR_NETS:
            raise ValueError(f"SR net {name!r} registered twice")
        SR_NETS[name] = builder
        return builder

    return decorate


def build_sr_net(name: str, blocks: int, features: int, upsample: str) -> nn.Module:
    """Build the SR net registered as `name`; every net takes the same three named sizes."""
    if name not in SR_NETS:
        raise UserError(f"unknown SR model {name!r}; known: {', '.join(sorted(SR_NETS))}")
    if blocks < 0 or features < 2:
        raise UserError(f"SR sizes out of range: blocks={blocks}, features={features}")
    return SR_NETS[name](blocks=blocks, features=features, upsample=upsample)


def _upsample_x2(features: int, kind: str) -> nn.Module:
    if kind == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(features, features * 4, 3, padding=1), nn.PixelShuffle(2))
    if kind == "deconv":
        return nn.ConvTranspose2d(features, features, kernel_size=4, stride=2, padding=1)
    raise UserError(f"unknown upsampling {kind!r}; known: {', '.join(UPSAMPLERS)}")


def _interpolate_x2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)


@register_sr_net("srcnn")
class SRCNN(nn.Module):
    """Dong et al. 2014: bicubic x2, then 9-5-5 convolutions predicting the HR image.

    Its size is `features` alone: it has no residual blocks and upsamples before the convolutions.
    """

    def __init__(self, blocks: int = 0, features: int = 64, upsample: str = "bicubic") -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, features, 9, padding=4), nn.ReLU(inplace=True),
            nn.Conv2d(features, features // 2, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(features // 2, 1, 5, padding=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(_interpolate_x2(x))


class _ResidualBlockBN(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1), nn.BatchNorm2d(features), nn.PReLU(),
            nn.Conv2d(features, features, 3, padding=1), nn.BatchNorm2d(features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_sr_net("srresnet")
class SRResNet(nn.Module):
    """Ledig et al. 2017, x2, with BasicSR's global skip from the interpolated input."""

    def __init__(
        self, blocks: int = 16, features: int = 64, upsample: str = "pixelshuffle"
    ) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(1, features, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*[_ResidualBlockBN(features) for _ in range(blocks)])
        self.fuse = nn.Sequential(nn.Conv2d(features, features, 3, padding=1),
                                  nn.BatchNorm2d(features))
        self.upsample = nn.Sequential(_upsample_x2(features, upsample), nn.PReLU())
        self.tail = nn.Conv2d(features, 1, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        body = head + self.fuse(self.blocks(head))
        return _interpolate_x2(x) + self.tail(self.upsample(body))


@register_sr_net("srgan")
def srgan_generator(blocks: int = 16, features: int = 64, upsample: str = "pixelshuffle"):
    """SRGAN's generator is SRResNet; what makes it SRGAN is the adversarial training."""
    return SRResNet(blocks=blocks, features=features, upsample=upsample)


class _ResidualBlockScaled(nn.Module):
    def __init__(self, features: int, res_scale: float) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.body = nn.Sequential(
            nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


@register_sr_net("edsr")
class EDSR(nn.Module):
    """Lim et al. 2017: residual blocks without batch norm, scaled residuals, x2 upsampling."""

    def __init__(
        self, blocks: int = 8, features: int = 64, upsample: str = "pixelshuffle",
        res_scale: float = 0.1,
    ) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, features, 3, padding=1)
        self.blocks = nn.Sequential(
            *[_ResidualBlockScaled(features, res_scale) for _ in range(blocks)],
            nn.Conv2d(features, features, 3, padding=1),
        )
        self.upsample = _upsample_x2(features, upsample)
        self.tail = nn.Conv2d(features, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        return _interpolate_x2(x) + self.tail(self.upsample(head + self.blocks(head)))
