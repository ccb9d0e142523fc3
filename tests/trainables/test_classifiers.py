import pytest
import timm
import torch

from trainables.errors import UserError
from trainables.models.classifiers import CLASSIFIERS, build_classifier, pretrained_weights


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_architecture_trains_one_step_on_one_channel(name):
    torch.manual_seed(0)
    net = build_classifier(name, num_classes=3, drop_rate=0.1)
    x, y = torch.rand(2, 1, 32, 32), torch.tensor([0, 2])
    before = [p.detach().clone() for p in net.parameters()]
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert net(x).shape == (2, 3)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_reference_mobilevit_is_small():
    params = sum(p.numel() for p in build_classifier("mobilevit_ref", 2).parameters())
    xxs = sum(p.numel() for p in build_classifier("mobilevit_xxs", 2).parameters())
    assert params < xxs


def test_pretrained_weights_load_from_a_local_file(tmp_path):
    imagenet = timm.create_model("resnet18", num_classes=1000)  # stands in for ImageNet weights
    torch.save(imagenet.state_dict(), tmp_path / "resnet18.pth")
    assert pretrained_weights("resnet18", tmp_path) == tmp_path / "resnet18.pth"
    net = build_classifier("resnet18", 3, pretrained=True, weights_dir=tmp_path)
    # timm folds the RGB filters of the first convolution into one channel; the body is copied.
    assert torch.allclose(net.conv1.weight[:, 0], imagenet.conv1.weight.sum(1), atol=1e-5)
    assert torch.equal(net.layer4[1].conv2.weight, imagenet.layer4[1].conv2.weight)
    assert net.fc.out_features == 3


def test_mobilenetv3_takes_pretrained_weights_from_a_local_file_too(tmp_path):
    imagenet = timm.create_model("mobilenetv3_small_100", num_classes=1000)
    torch.save(imagenet.state_dict(), tmp_path / "mobilenetv3_small_100.pth")
    net = build_classifier("mobilenetv3_small_100", 2, pretrained=True, weights_dir=tmp_path)
    assert torch.equal(net.blocks[1][0].conv_pw.weight, imagenet.blocks[1][0].conv_pw.weight)
    assert pretrained_weights("c8_resnet18", tmp_path) is None  # lenstune's own: none anywhere


def test_missing_weights_are_a_clear_error(tmp_path):
    assert pretrained_weights("resnet34", tmp_path) is None
    with pytest.raises(UserError, match=r"pretrained weights for resnet34 not found: put "
                                        r"resnet34\.pth"):
        build_classifier("resnet34", 3, pretrained=True, weights_dir=tmp_path)


def test_unknown_architecture():
    with pytest.raises(UserError, match="unknown classifier 'vgg16'"):
        build_classifier("vgg16", 3)
