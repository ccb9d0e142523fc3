"""search.data: a validation split too small to rank trials by is noted in one line."""

import numpy as np

from search.data import SMALL_VALIDATION, small_validation_note
from trainables.data.class_images import ClassImages, ClassSplit
from trainables.data.sr_pairs import SRPairs, SRSplit


def _pairs(n: int) -> SRPairs:
    return SRPairs(np.zeros((n, 1, 4, 4), np.float32), np.zeros((n, 1, 8, 8), np.float32),
                   tuple(str(i) for i in range(n)))


def _images(per_class: dict[str, int]) -> ClassImages:
    y = np.concatenate([np.full(n, k) for k, n in enumerate(per_class.values())])
    return ClassImages(np.zeros((len(y), 1, 4, 4), np.float32), y, tuple(per_class),
                       tuple(str(i) for i in range(len(y))))


def test_a_superres_validation_of_a_few_pairs_is_noted():
    assert small_validation_note("superres", SRSplit(_pairs(40), _pairs(SMALL_VALIDATION))) is None
    note = small_validation_note("superres", SRSplit(_pairs(40), _pairs(1)))
    assert note.startswith("note: the validation split holds only 1 pairs")
    assert "--sim-count" in note and "\n" not in note


def test_the_smallest_validation_class_is_named():
    big = _images({"no": 30, "sphere": 30, "vort": 30})
    assert small_validation_note("classify", ClassSplit(big, big, 0.0, 1.0)) is None
    val = _images({"no": 30, "sphere": 2, "vort": 30})
    note = small_validation_note("classify", ClassSplit(big, val, 0.0, 1.0))
    assert note.startswith("note: the validation split holds only 2 images of class 'sphere' "
                           "(62 in all)")
    # A class with no validation image at all is the smallest there is.
    val = _images({"no_sub": 12, "sub": 0})
    note = small_validation_note("anomaly", ClassSplit(big, val, 0.0, 1.0))
    assert "only 0 images of class 'sub'" in note
