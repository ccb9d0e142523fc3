import pytest
import torch

from trainables.errors import UserError
from trainables.models.sr_nets import SR_NETS, UPSAMPLERS, build_sr_net


@pytest.mark.parametrize("name", sorted(SR_NETS))
@pytest.mark.parametrize("upsample", UPSAMPLERS)
@pytest.mark.parametrize("size", [(75, 75), (13, 9)])
def test_every_net_doubles_any_input_size(name, upsample, size):
    net = build_sr_net(name, blocks=2, features=8, upsample=upsample).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 1, *size))
    assert out.shape == (2, 1, 2 * size[0], 2 * size[1])


def test_blocks_change_the_residual_nets():
    def count(name, blocks):
        return sum(p.numel() for p in build_sr_net(name, blocks, 8, "pixelshuffle").parameters())

    assert count("srresnet", 4) > count("srresnet", 1)
    assert count("edsr", 4) > count("edsr", 1)


def test_deconv_and_pixelshuffle_are_different_layers():
    shuffle = build_sr_net("srresnet", 1, 8, "pixelshuffle")
    deconv = build_sr_net("srresnet", 1, 8, "deconv")
    assert any(isinstance(m, torch.nn.PixelShuffle) for m in shuffle.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in deconv.modules())


def test_unknown_names_are_user_errors():
    with pytest.raises(UserError, match="unknown SR model 'vdsr'"):
        build_sr_net("vdsr", 1, 8, "pixelshuffle")
    with pytest.raises(UserError, match="unknown upsampling 'nearest'"):
        build_sr_net("edsr", 1, 8, "nearest")
