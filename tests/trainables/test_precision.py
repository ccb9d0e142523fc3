"""bf16 autocast: the nets compute in bfloat16, while weights, losses and metrics stay fp32."""

import math

import pytest
import torch

from trainables import precision
from trainables.classify import ClassifyTrialConfig
from trainables.classify import fit as fit_classify
from trainables.data.class_images import read_class_images
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
from trainables.errors import UserError
from trainables.precision import autocast
from trainables.superres import SRTrialConfig
from trainables.superres import fit as fit_superres


def _conv_output_dtypes(monkeypatch) -> list[torch.dtype]:
    """The dtype of every convolution's output from now on."""
    seen: list[torch.dtype] = []
    forward = torch.nn.Conv2d.forward

    def recording(self, x):
        out = forward(self, x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Conv2d, "forward", recording)
    return seen


def test_autocast_is_a_no_op_for_fp32_and_bfloat16_for_bf16():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.rand(1, 1, 8, 8)
    with autocast("cpu", "fp32"):
        assert conv(x).dtype == torch.float32
    with autocast(torch.device("cpu"), "bf16"):
        assert conv(x).dtype == torch.bfloat16


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_superres_trains_and_validates_in_the_precision(sr_data, monkeypatch, precision, dtype):
    split = split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)
    cfg = SRTrialConfig.from_dict({"model": "srresnet", "blocks": 1, "features": 8,
                                   "batch_size": 8, "max_epochs": 1, "loss": "mse+ssim",
                                   "precision": precision})
    seen = _conv_output_dtypes(monkeypatch)
    states = []
    metrics = fit_superres(cfg, split, lambda m, s: states.append(s))
    assert seen and set(seen) == {dtype}
    assert all(math.isfinite(metrics[k])
               for k in ("train_loss", "val_loss", "val_psnr", "val_ssim"))
    assert all(v.dtype == torch.float32 for v in states[-1]["model"].values()
               if v.is_floating_point())


def test_classify_trains_in_bf16_with_fp32_weights(classify_data, monkeypatch):
    data = read_class_images(classify_data, 0.1, seed=0)
    cfg = ClassifyTrialConfig.from_dict({"family": "resnet", "model": "resnet18",
                                         "batch_size": 16, "max_epochs": 1,
                                         "precision": "bf16"})
    seen = _conv_output_dtypes(monkeypatch)
    states = []
    metrics = fit_classify(cfg, data, lambda m, s: states.append(s))
    assert seen and set(seen) == {torch.bfloat16}
    assert math.isfinite(metrics["val_loss"]) and 0 <= metrics["val_auc"] <= 1
    assert all(v.dtype == torch.float32 for v in states[-1]["model"].values()
               if v.is_floating_point())


def test_unknown_precision_is_a_user_error():
    with pytest.raises(UserError, match="unknown precision 'fp16'"):
        SRTrialConfig.from_dict({"model": "srcnn", "precision": "fp16"})


def test_bf16_units_are_read_from_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    # Plain AVX-512 converts bf16 to fp32 (oneDNN says it "supports" bf16 there): not units.
    monkeypatch.setattr(precision, "_cpu_flags", lambda: {"avx2", "avx512f", "avx512bw"})
    assert not precision.has_bf16_units("cpu")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: {"asimd", "sve", "bf16"})  # aarch64
    assert precision.has_bf16_units("cpu")
    monkeypatch.setattr(precision, "_cpu_flags", set)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert precision.has_bf16_units("cpu")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)  # Sapphire Rapids
    assert precision.has_bf16_units("cpu")


def test_no_cuda_device_has_no_bf16_units(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not precision.has_bf16_units("cuda")


def test_auto_precision_is_bf16_only_where_the_device_computes_it(monkeypatch):
    monkeypatch.setattr(precision, "has_bf16_units", lambda device="cpu": device == "cuda")
    assert precision.resolve_precision("auto", "cpu") == "fp32"
    assert precision.resolve_precision("auto", "cuda") == "bf16"
    assert precision.resolve_precision("bf16", "cpu") == "bf16"
    assert precision.resolve_precision("fp32", "cuda") == "fp32"
