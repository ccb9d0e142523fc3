"""The C8 and D8 ResNet-18s: invariant to their group, and saved and loaded like any net."""

import pytest
import torch
import torchvision.transforms.functional as TF

from tasks import load_model
from trainables.checkpoint import save_checkpoint
from trainables.inference import symmetry, undo_symmetry
from trainables.models.classifiers import build_classifier
from trainables.models.equivariant import odd_size


def _lens_like(size: int = 48) -> torch.Tensor:
    """Smooth images (arcs and blobs): a 45-degree turn moves them, not their content."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                          indexing="ij")
    ring = torch.exp(-((x ** 2 + y ** 2).sqrt() - 0.5) ** 2 / 0.01) * (1 + 0.5 * x)
    blob = torch.exp(-((x - 0.3) ** 2 + (y + 0.2) ** 2) / 0.02)
    return torch.stack([ring, blob + 0.3 * ring])[:, None]


@pytest.fixture(scope="module", params=["c8_resnet18", "d8_resnet18"])
def net(request):
    torch.manual_seed(0)
    model = build_classifier(request.param, num_classes=3)
    x = _lens_like()
    model.train()
    model(x)  # batch-norm statistics of lens-like images, so that eval mode has a scale
    return request.param, model.eval()


def test_quarter_turns_leave_the_output_unchanged(net):
    name, model = net
    x = _lens_like()
    with torch.no_grad():
        out = model(x)
        for k in (1, 2, 3):
            assert torch.allclose(model(torch.rot90(x, k, (-2, -1))), out, atol=1e-4)
        flipped = model(x.flip(-1))
    # D8 holds reflections too; C8 only rotations.
    assert torch.allclose(flipped, out, atol=1e-4) == (name == "d8_resnet18")


def test_45_degree_turns_change_the_output_only_by_the_grids_interpolation(net):
    _, model = net
    x = _lens_like(64)
    with torch.no_grad():
        out = model(x)
        turned = model(TF.rotate(x, 45, interpolation=TF.InterpolationMode.BILINEAR))
        moved = model(torch.roll(x, 7, -1))  # not a symmetry: how much an output may move
    assert (turned - out).abs().max() < 0.25 * (moved - out).abs().max()


def test_sizes_keep_the_centre_pixel_at_every_stride():
    assert [odd_size(s) for s in (16, 33, 48, 64, 150)] == [33, 33, 65, 65, 161]


def test_a_saved_equivariant_model_loads_and_predicts_like_any_other(tmp_path):
    model = build_classifier("d8_resnet18", num_classes=2).eval()
    spec = {"task": "anomaly", "model": "d8_resnet18", "dropout": 0.0, "classes": ["a", "b"],
            "mean": 0.0, "std": 1.0, "image_size": [48, 48]}
    save_checkpoint(tmp_path, {"model": model.state_dict(), "net_spec": spec})
    loaded, loaded_spec = load_model(tmp_path)
    x = _lens_like()
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
    assert loaded_spec["model"] == "d8_resnet18"


def test_the_eight_symmetries_are_undone_exactly():
    x = torch.arange(2 * 5 * 5, dtype=torch.float32).reshape(2, 1, 5, 5)
    views = {symmetry(x, k).flatten().tolist().__repr__() for k in range(8)}
    assert len(views) == 8  # all different
    for k in range(8):
        assert torch.equal(undo_symmetry(symmetry(x, k), k), x)
