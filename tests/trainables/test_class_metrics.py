import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from trainables.class_metrics import accuracy, evaluation_summary, macro_auc


def test_macro_auc_on_a_known_case():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[.8, .1, .1], [.4, .5, .1], [.3, .6, .1], [.1, .8, .1], [.1, .2, .7],
                      [.5, .1, .4]])
    expected = np.mean([roc_auc_score(labels == c, probs[:, c]) for c in range(3)])
    assert macro_auc(labels, probs) == pytest.approx(expected)
    assert accuracy(labels, probs) == pytest.approx(4 / 6)


def test_binary_auc_uses_the_positive_class():
    labels = np.array([0, 1, 0, 1])
    probs = np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]])
    assert macro_auc(labels, probs) == pytest.approx(0.75)


def test_auc_is_nan_when_a_class_is_missing():
    assert math.isnan(macro_auc(np.array([0, 0]), np.array([[.6, .4], [.3, .7]])))


def test_summary_has_a_roc_curve_per_class_and_a_confusion_matrix():
    labels = np.array([0, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 2, 1]] * 0.9 + 0.033
    summary = evaluation_summary(labels, probs, ["no", "sphere", "vort"])
    assert set(summary["roc"]) == {"no", "sphere", "vort"}
    assert summary["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    curve = summary["roc"]["no"]
    assert curve["fpr"][0] == 0 and curve["tpr"][-1] == 1 and curve["auc"] == 1.0
