import io
import os

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.summary.writer import record_writer

from trainables.trial_log import TrialLog, _native_masked_crc32c


@pytest.mark.parametrize("size", [0, 1, 8, 1000, 100_003])
def test_native_checksum_equals_tensorboards(size):
    data = os.urandom(size)
    assert _native_masked_crc32c(data) == masked_crc32c(data)


def test_tensorboard_writes_records_with_the_native_checksum():
    assert record_writer.masked_crc32c is _native_masked_crc32c


def _read_back(logdir):
    # TensorBoard's reader checks every record's checksum with its own pure-Python CRC.
    return EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0}).Reload()


def test_grey_image_round_trips_as_a_one_channel_png(tmp_path):
    grey = torch.rand(1, 37, 53, generator=torch.Generator().manual_seed(0))
    log = TrialLog(tmp_path, {"lr": 1e-3, "model": "srcnn"}, ["val_psnr"])
    log.image(1, "val/sample", grey)
    log.image(2, "val/sample", 1 - grey)
    log.scalars(1, {"val/psnr": 30.0})
    log.close()

    events = _read_back(tmp_path)
    images = events.Images("val/sample")
    assert [i.step for i in images] == [1, 2]
    assert (images[0].width, images[0].height) == (53, 37)
    decoded = Image.open(io.BytesIO(images[0].encoded_image_string))
    assert decoded.mode == "L"
    expected = (grey[0].numpy() * 255).round()
    assert np.abs(np.asarray(decoded, dtype=np.float64) - expected).max() == 0
    assert events.Scalars("val/psnr")[0].value == 30.0


def test_colour_image_is_written_as_rgb(tmp_path):
    log = TrialLog(tmp_path, {}, ["val_psnr"])
    log.image(1, "rgb", torch.rand(3, 8, 8))
    log.close()
    image = _read_back(tmp_path).Images("rgb")[0]
    assert Image.open(io.BytesIO(image.encoded_image_string)).mode == "RGB"
